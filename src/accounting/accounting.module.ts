import { Module } from '@nestjs/common';

/** Share bookkeeping (counters, hashrate windows, persisted statistics): filled in by the accounting issue. */
@Module({})
export class AccountingModule {}

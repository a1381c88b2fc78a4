// TypeORM CLI entry: `npm run migration:run` uses the compiled copy (dist/database/data-source.js).
export { default } from './src/database/data-source.js';

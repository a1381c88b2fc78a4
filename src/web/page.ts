/** The farm page's HTML and CSS: static, small, no framework; the logic is client/app.ts (compiled by the build). */
export const PAGE_CSS = `
:root { --fg: #1d2430; --muted: #667085; --line: #e4e7ec; --bg: #f7f8fa; --up: #12b76a; --down: #d92d20; --accent: #2e6be6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, -apple-system, Segoe UI, Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: baseline; padding: 12px 16px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { font-size: 18px; margin: 0; }
header .updated { color: var(--muted); font-size: 13px; margin-left: auto; }
main { padding: 12px 16px; max-width: 1400px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; min-width: 0; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 24px; font-weight: 600; overflow-wrap: anywhere; }
section { margin-top: 16px; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
section h2 { font-size: 15px; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.ranges button, .pager button, form button { border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.ranges button.active { background: var(--accent); color: #fff; border-color: var(--accent); }
.chart { width: 100%; min-height: 220px; }
.pools { display: flex; flex-wrap: wrap; gap: 8px; list-style: none; padding: 0; margin: 0; }
.pools li { border: 1px solid var(--line); border-radius: 6px; padding: 4px 8px; font-size: 13px; }
.up { color: var(--up); font-weight: 600; } .down { color: var(--down); font-weight: 600; }
.reasons { color: var(--muted); font-size: 13px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { cursor: pointer; user-select: none; color: var(--muted); font-weight: 600; }
th.sorted::after { content: attr(data-dir); margin-left: 4px; }
#routes-table th { cursor: default; }
input[type=search], input[type=password], input[type=text] { padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 0; max-width: 100%; }
.pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; color: var(--muted); font-size: 13px; }
#login, #disabled { max-width: 560px; margin: 40px auto; }
#login form, #disabled form { display: flex; gap: 8px; flex-wrap: wrap; }
#disabled-message { font-weight: 600; overflow-wrap: anywhere; }
code { overflow-wrap: anywhere; }
.hidden { display: none !important; }
.error { color: var(--down); }
@media (max-width: 600px) { .card .value { font-size: 20px; } main { padding: 8px; } }
`;

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stratum proxy: farm</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="/ui/uPlot.min.css">
<link rel="stylesheet" href="/ui/app.css">
</head>
<body>
<header><h1 id="title">Farm</h1><span class="updated" id="updated"></span></header>
<main>
  <section id="login" class="hidden">
    <h2>Management token</h2>
    <p>The farm view needs the proxy's management token (<code>API_TOKEN</code> or <code>--api.token</code>). It is kept in this tab only.</p>
    <form id="login-form"><input id="token" type="password" placeholder="token" autocomplete="off" required><button type="submit">Open</button></form>
    <p id="login-error" class="error"></p>
    <p>Started on its SQLite database without a token, the proxy made one at its first start and printed this page's address with it, <code>http://&lt;web.addr&gt;/#token=&lt;token&gt;</code>, in its log.</p>
    <p>A user's own page needs no token: <code>/#user=&lt;name&gt;</code>.</p>
  </section>
  <section id="disabled" class="hidden">
    <h2>The management API is off</h2>
    <p id="disabled-message"></p>
    <p>The farm view needs it. To turn it on, start the proxy with the environment variable <code>API_TOKEN=&lt;secret&gt;</code> (or <code>--api.token=&lt;secret&gt;</code>), then open <code><span id="page-address"></span>#token=&lt;secret&gt;</code>. (On its embedded SQLite database the proxy can make a token itself: started without one, it makes it at its first start and prints this page's address with it, <code>http://&lt;web.addr&gt;/#token=&lt;token&gt;</code>.)</p>
    <p>A user's own page needs no token:</p>
    <form id="user-form"><input id="user-name" type="text" placeholder="registered name" autocomplete="off" required><button type="submit">Open the user's page</button></form>
  </section>
  <div id="view" class="hidden">
    <div class="cards">
      <div class="card"><div class="label">Hashrate now</div><div class="value" id="hashrate" data-value="0">-</div></div>
      <div class="card"><div class="label">Workers connected</div><div class="value" id="workers" data-value="0">-</div></div>
      <div class="card"><div class="label">Shares accepted (1 h)</div><div class="value" id="accepted">-</div></div>
      <div class="card"><div class="label">Shares rejected (1 h)</div><div class="value" id="rejected">-</div><div class="reasons" id="reasons"></div></div>
    </div>
    <section><h2>Hashrate <span class="ranges" id="ranges"><button data-range="1h">1 h</button><button data-range="24h">24 h</button><button data-range="7d">7 d</button></span></h2><div class="chart" id="chart"></div></section>
    <section><h2>Pools</h2><ul class="pools" id="pools"></ul></section>
    <section id="routes-section" class="hidden"><h2>Routes</h2>
      <div class="table-wrap"><table id="routes-table"><thead><tr>
        <th>Route</th><th>Weight</th><th>Mining on</th><th>As user</th><th>Share of hashrate</th><th>Hashrate</th>
      </tr></thead><tbody></tbody></table></div>
    </section>
    <section id="users-section"><h2>Users</h2><ul class="pools" id="users"></ul></section>
    <section id="workers-section"><h2>Workers <input id="filter" type="search" placeholder="filter by user or rig"></h2>
      <div class="table-wrap"><table id="workers-table"><thead><tr>
        <th data-key="rig">Rig</th><th data-key="user">User</th><th data-key="pool">Pool</th><th data-key="algorithm">Algorithm</th>
        <th data-key="difficulty">Difficulty</th><th data-key="h10m">10 m</th><th data-key="h1h">1 h</th>
        <th data-key="lastShare">Last share</th><th data-key="connectedSince">Connected since</th><th data-key="status">Status</th>
      </tr></thead><tbody></tbody></table></div>
      <div class="pager"><button id="prev">Previous</button><span id="page"></span><button id="next">Next</button></div>
    </section>
  </div>
</main>
<script src="/ui/uPlot.iife.min.js"></script>
<script type="module" src="/ui/app.js"></script>
</body>
</html>
`;

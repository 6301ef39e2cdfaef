'use strict';
// The Node.js peer for strata's TechEmpower database tests (bench/tfb.sh): fastify + pg,
// ONE process, the five routes by TechEmpower's rules:
//   GET /db                      one random World row: {"id":N,"randomNumber":N}
//   GET /queries?queries=N       N random rows (N clamped to 1..500, not an integer: 1)
//   GET /fortunes                every Fortune plus one added at request time, sorted by
//                                message, HTML-escaped, text/html; charset=utf-8
//   GET /updates?queries=N       N random rows, each given a new randomNumber 1..10000,
//                                written back in one batched UPDATE (TFB permits it)
//   GET /cached-queries?count=N  N rows from an in-process cache of World
//
// Environment: DATABASE_URL (postgres://...), LISTEN (HOST:PORT, default 127.0.0.1:8081),
// POOL (connections, default 16). Prints "listening on http://HOST:PORT" once ready.
// APP=blog: the database is strata's blog (bench/blog.sh): no World cache is loaded; the
// blog routes of blog.js are registered in both cases.
// Schema: schema.sql beside this file (or `strata example bench --db URL` migrates it).

const fastify = require('fastify');
const pg = require('pg');

const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const [HOST, PORT] = (process.env.LISTEN || '127.0.0.1:8081').split(/:(?=[^:]*$)/);
const POOL = Number.parseInt(process.env.POOL || '16', 10);
const WORLD_ROWS = 10000;

// Idle connections stay open (as strata's pool keeps them): no reconnects between runs.
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: POOL, idleTimeoutMillis: 0 });

// Named queries: pg prepares each once per connection and reuses it.
const Q_WORLD = { name: 'world', text: 'SELECT id, randomnumber FROM world WHERE id = $1' };
const Q_FORTUNES = { name: 'fortunes', text: 'SELECT id, message FROM fortune' };
const Q_UPDATE = {
    name: 'update',
    text:
        'UPDATE world SET randomnumber = u.r FROM ' +
        '(SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS r) AS u WHERE world.id = u.id',
};

const randomId = () => 1 + Math.floor(Math.random() * WORLD_ROWS);

// TechEmpower: a missing, non-integer or < 1 count is 1; more than 500 is 500.
function clampCount(raw) {
    const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number.parseInt(raw, 10) : 1;
    return Math.min(500, Math.max(1, n));
}

async function world(id) {
    const r = await pool.query({ ...Q_WORLD, values: [id] });
    const row = r.rows[0];
    return { id: row.id, randomNumber: row.randomnumber };
}

function worlds(n) {
    const jobs = new Array(n);
    for (let i = 0; i < n; i++) jobs[i] = world(randomId());
    return Promise.all(jobs);
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

function renderFortunes(rows) {
    let html = '<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>';
    for (const f of rows) html += `<tr><td>${f.id}</td><td>${escapeHtml(f.message)}</td></tr>`;
    return html + '</table></body></html>';
}

// UTF-16 code-unit order: the same as byte order (strcmp) for these messages, all in the BMP.
const byMessage = (a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);

async function updates(n) {
    const rows = await worlds(n);
    // A row picked twice is written once, with the value the response shows last.
    const latest = new Map();
    for (const w of rows) {
        w.randomNumber = 1 + Math.floor(Math.random() * WORLD_ROWS);
        latest.set(w.id, w.randomNumber);
    }
    // Ascending ids: concurrent batches lock rows in the same order and cannot deadlock.
    const ids = [...latest.keys()].sort((a, b) => a - b);
    await pool.query({ ...Q_UPDATE, values: [ids, ids.map((id) => latest.get(id))] });
    return rows;
}

let cache = null;
async function loadCache() {
    const r = await pool.query('SELECT id, randomnumber FROM world');
    cache = new Array(WORLD_ROWS + 1);
    for (const row of r.rows) cache[row.id] = { id: row.id, randomNumber: row.randomnumber };
}

function cached(n) {
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = cache[randomId()];
    return out;
}

const worldSchema = {
    type: 'object',
    properties: { id: { type: 'integer' }, randomNumber: { type: 'integer' } },
};
const listSchema = { response: { 200: { type: 'array', items: worldSchema } } };

function build() {
    const app = fastify({ logger: false });
    app.addHook('onSend', async (req, reply) => {
        reply.header('Server', 'fastify');
    });
    app.register(require('./blog.js'), { pool, pg });
    app.get('/db', { schema: { response: { 200: worldSchema } } }, () => world(randomId()));
    app.get('/queries', { schema: listSchema }, (req) => worlds(clampCount(req.query.queries)));
    app.get('/updates', { schema: listSchema }, (req) => updates(clampCount(req.query.queries)));
    app.get('/cached-queries', { schema: listSchema }, async (req) => cached(clampCount(req.query.count)));
    app.get('/fortunes', async (req, reply) => {
        const r = await pool.query(Q_FORTUNES);
        const rows = r.rows;
        rows.push({ id: 0, message: 'Additional fortune added at request time.' });
        rows.sort(byMessage);
        reply.type('text/html; charset=utf-8');
        return renderFortunes(rows);
    });
    return app;
}

async function main() {
    if (process.env.APP !== 'blog') await loadCache();
    const app = build();
    const address = await app.listen({ host: HOST, port: Number.parseInt(PORT, 10) });
    process.stdout.write(`listening on ${address}\n`);
    const stop = async () => {
        await app.close();
        await pool.end();
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

main().catch((err) => {
    process.stderr.write(`tfb-node: ${err.stack || err}\n`);
    process.exit(1);
});

'use strict';
// The Node.js peer's blog API (bench/blog.sh): the routes of docs/blog-api.md that the blog
// benchmark measures, written the way a Node.js team would (fastify + pg), on the SAME
// PostgreSQL tables that `strata example blog` migrates and seeds:
//
//   GET  /api/v1/posts?limit=N&offset=N    the list page: data (with comment_count and tags),
//                                          meta {limit, offset, total}, links; two queries
//                                          (count + page), tags and counts by correlated
//                                          subqueries in the page query: no N+1
//   GET  /api/v1/posts/:id                 one post, ETag "id-version", If-None-Match -> 304
//   GET  /api/v1/posts/:id/comments?...    a post's comments, oldest first (limit, offset)
//   POST /api/v1/posts                     validated as the contract says (400 malformed_json,
//                                          415, 422 listing every bad field, unknown_field,
//                                          author_id of no user), then one transaction:
//                                          the post, its tags, the re-read; 201 + Location
//
// Not here (strata has them; the benchmark does not use them): sorting, filters, cursors,
// CSV, v2, idempotency keys, rate limiting, the other resources. Errors are RFC 9457
// problem+json with the contract's codes. Every SQL statement is parameterised.
//
// server.js registers this plugin: app.register(require('./blog.js'), { pool }).

const LIMIT_DEFAULT = 20;
const LIMIT_MAX = 100;
const BODY_MAX = 1024 * 1024;
const TAG_RE = /^[a-z0-9-]{1,30}$/;
const ID_RE = /^[1-9][0-9]{0,17}$/;

// bigint columns (ids, times, counts) as JS numbers: every value here is far below 2^53.
// Given per query, so the TechEmpower routes of server.js keep pg's defaults.
function blogTypes(pg) {
    return {
        getTypeParser(oid, format) {
            return oid === 20 ? (v) => Number.parseInt(v, 10) : pg.types.getTypeParser(oid, format);
        },
    };
}

// The same SELECT as strata's blog_posts.c: the row, its comment count and its tags
// (sorted, comma-joined) in one statement, served by the comments and post_tags indexes.
const POST_COLS =
    'SELECT p.id, p.author_id, p.title, p.body, p.status, p.version, p.created_at, p.updated_at,' +
    ' (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS comment_count,' +
    " (SELECT string_agg(t.name, ',' ORDER BY t.name) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id" +
    ' WHERE pt.post_id = p.id) AS tags' +
    ' FROM posts p';
const SQL = {
    postCount: 'SELECT count(*) AS n FROM posts p WHERE p.deleted_at IS NULL',
    postPage:
        POST_COLS + ' WHERE p.deleted_at IS NULL ORDER BY p.created_at DESC, p.id DESC LIMIT $1 OFFSET $2',
    postOne: POST_COLS + ' WHERE p.id = $1 AND p.deleted_at IS NULL',
    postExists: 'SELECT 1 FROM posts WHERE id = $1 AND deleted_at IS NULL',
    commentCount: 'SELECT count(*) AS n FROM comments WHERE post_id = $1',
    commentPage:
        'SELECT c.id, c.post_id, c.author_id, c.body, c.created_at, c.updated_at FROM comments c' +
        ' JOIN posts p ON p.id = c.post_id AND p.deleted_at IS NULL WHERE c.post_id = $1' +
        ' ORDER BY c.created_at ASC, c.id ASC LIMIT $2 OFFSET $3',
    userExists: 'SELECT 1 FROM users WHERE id = $1',
    postInsert:
        'INSERT INTO posts (author_id, title, body, status, created_at, updated_at)' +
        ' VALUES ($1, $2, $3, $4, $5, $5) RETURNING id',
    // all the tags in two statements, whatever their number (strata runs two per tag)
    tagsInsert: 'INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING',
    postTagsInsert:
        'INSERT INTO post_tags (post_id, tag_id) SELECT $1, id FROM tags WHERE name = ANY($2::text[])' +
        ' ON CONFLICT DO NOTHING',
};

// Named statements: pg prepares each once per connection and reuses the plan.
function query(db, types, name, values) {
    return db.query({ name: `blog_${name}`, text: SQL[name], values, types });
}

// Epoch seconds -> RFC 3339 in UTC, whole seconds: 2026-11-28T19:30:00Z.
const rfc3339 = (s) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function postJson(row) {
    const id = row.id;
    return {
        id,
        author_id: row.author_id,
        title: row.title,
        body: row.body,
        status: row.status,
        tags: row.tags ? row.tags.split(',') : [],
        comment_count: row.comment_count,
        version: row.version,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        links: {
            self: `/api/v1/posts/${id}`,
            author: `/api/v1/users/${row.author_id}`,
            comments: `/api/v1/posts/${id}/comments`,
        },
    };
}

function commentJson(row) {
    return {
        id: row.id,
        post_id: row.post_id,
        author_id: row.author_id,
        body: row.body,
        created_at: rfc3339(row.created_at),
        updated_at: rfc3339(row.updated_at),
        links: {
            self: `/api/v1/comments/${row.id}`,
            post: `/api/v1/posts/${row.post_id}`,
            author: `/api/v1/users/${row.author_id}`,
        },
    };
}

// ---- errors: RFC 9457 problem+json with the contract's codes ----

const TITLES = {
    400: 'Bad Request',
    404: 'Not Found',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Content',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
};

class Problem extends Error {
    constructor(status, code, detail, errors) {
        super(detail);
        this.status = status;
        this.code = code;
        this.errors = errors;
    }
}

function sendProblem(req, reply, p) {
    const body = {
        type: `https://strata.dev/problems/${p.code}`,
        title: TITLES[p.status] || 'Error',
        status: p.status,
        code: p.code,
        detail: p.message,
        instance: req.url.split('?')[0],
    };
    if (p.errors) body.errors = p.errors;
    reply.code(p.status).header('Vary', 'Accept').type('application/problem+json').send(JSON.stringify(body));
}

const fieldsInvalid = (n) => `${n} field${n === 1 ? ' is' : 's are'} invalid`;
const paramsInvalid = (n) => `${n} query parameter${n === 1 ? ' is' : 's are'} invalid`;

// ---- request parsing ----

// A path id: a positive integer, else the resource does not exist (as strata answers).
function pathId(raw) {
    if (!ID_RE.test(raw)) throw new Problem(404, 'not_found', 'no such resource');
    return Number.parseInt(raw, 10);
}

function intParam(v, lo, hi) {
    if (typeof v !== 'string' || !/^[0-9]{1,18}$/.test(v)) return null;
    const n = Number.parseInt(v, 10);
    return n >= lo && n <= hi ? n : null;
}

// limit 1..100 (default 20) and offset >= 0: every bad one listed in one 400.
function paging(q) {
    const errors = [];
    let limit = LIMIT_DEFAULT;
    let offset = 0;
    if (q.limit !== undefined && (limit = intParam(q.limit, 1, LIMIT_MAX)) === null)
        errors.push({ field: 'limit', code: 'out_of_range', message: 'must be an integer from 1 to 100' });
    if (q.offset !== undefined && (offset = intParam(q.offset, 0, 1e9)) === null)
        errors.push({ field: 'offset', code: 'out_of_range', message: 'must be an integer >= 0' });
    if (errors.length) throw new Problem(400, 'invalid_parameter', paramsInvalid(errors.length), errors);
    return { limit, offset };
}

// self/first/prev/next: the path with every other parameter of the request kept.
function listLinks(req, limit, offset, total) {
    const [path, qs = ''] = req.url.split('?');
    const keep = qs
        .split('&')
        .filter((kv) => kv && !/^(limit|offset|cursor)(=|$)/.test(kv))
        .map((kv) => `${kv.includes('=') ? kv : `${kv}=`}&`)
        .join('');
    const at = (o) => `${path}?${keep}limit=${limit}&offset=${o}`;
    const links = { self: at(offset), first: at(0) };
    if (offset > 0) links.prev = at(offset > limit ? offset - limit : 0);
    if (offset + limit < total) links.next = at(offset + limit);
    return links;
}

// The create body against the contract's PostCreate schema: every bad field reported.
const CREATE_FIELDS = new Set(['author_id', 'title', 'body', 'status', 'tags']);
const codePoints = (s) => [...s].length;

function checkString(errors, field, v, min, max) {
    if (typeof v !== 'string') return errors.push({ field, code: 'type', message: 'must be a string' });
    const n = codePoints(v);
    if (n < min) errors.push({ field, code: 'too_short', message: `at least ${min} character${min === 1 ? '' : 's'}` });
    if (n > max) errors.push({ field, code: 'too_long', message: `at most ${max} characters` });
    return 0;
}

function validateCreate(b) {
    const errors = [];
    const has = (k) => Object.prototype.hasOwnProperty.call(b, k);
    const need = (k) => has(k) || (errors.push({ field: k, code: 'required', message: 'is required' }) && false);
    const notNull = (k) => b[k] !== null || (errors.push({ field: k, code: 'null', message: 'must not be null' }) && false);
    if (need('author_id') && notNull('author_id')) {
        if (!Number.isInteger(b.author_id))
            errors.push({ field: 'author_id', code: 'type', message: 'must be an integer' });
        else if (b.author_id < 1) errors.push({ field: 'author_id', code: 'too_small', message: 'at least 1' });
    }
    if (need('title') && notNull('title')) checkString(errors, 'title', b.title, 1, 200);
    if (need('body') && notNull('body')) checkString(errors, 'body', b.body, 0, 100000);
    if (has('status') && notNull('status')) {
        if (typeof b.status !== 'string') errors.push({ field: 'status', code: 'type', message: 'must be a string' });
        else if (b.status !== 'draft' && b.status !== 'published')
            errors.push({ field: 'status', code: 'enum', message: 'must be one of: draft, published' });
    }
    if (has('tags') && notNull('tags')) {
        if (!Array.isArray(b.tags)) errors.push({ field: 'tags', code: 'type', message: 'must be an array' });
        else {
            if (b.tags.length > 10) errors.push({ field: 'tags', code: 'too_many', message: 'at most 10 items' });
            b.tags.forEach((t, i) => {
                const field = `tags[${i}]`;
                if (typeof t !== 'string') errors.push({ field, code: 'type', message: 'must be a string' });
                else if (!TAG_RE.test(t))
                    errors.push({ field, code: 'pattern', message: 'must match ^[a-z0-9-]{1,30}$' });
            });
        }
    }
    for (const k of Object.keys(b))
        if (!CREATE_FIELDS.has(k)) errors.push({ field: k, code: 'unknown_field', message: 'unknown field' });
    if (errors.length) throw new Problem(422, 'validation_failed', fieldsInvalid(errors.length), errors);
}

// The raw body as JSON: 415 unless application/json, 400 unless a JSON object.
function jsonBody(req) {
    const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    if (ct !== 'application/json')
        throw new Problem(415, 'unsupported_media_type', 'the body must be application/json');
    let v;
    try {
        v = JSON.parse(req.body || '');
    } catch (e) {
        throw new Problem(400, 'malformed_json', `the body is not JSON: ${e.message}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
        throw new Problem(400, 'malformed_json', 'the body must be a JSON object');
    return v;
}

// ---- the routes ----

module.exports = async function blog(app, opts) {
    const { pool, pg } = opts;
    const types = blogTypes(pg);

    // The body is read as text and parsed by jsonBody, so every error keeps the contract's
    // shape (fastify's own parser would answer its own 400/415 bodies).
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_MAX }, (req, body, done) => done(null, body));

    app.setErrorHandler((err, req, reply) => {
        if (err instanceof Problem) return sendProblem(req, reply, err);
        if (err.statusCode === 413)
            return sendProblem(req, reply, new Problem(413, 'payload_too_large', 'the body is over 1 MiB'));
        req.log.error(err);
        // a lost or refused connection is worth a retry; anything else is ours
        const busy = err.code === 'ECONNREFUSED' || err.code === '57P01' || /timeout/i.test(err.message);
        return sendProblem(
            req,
            reply,
            busy
                ? new Problem(503, 'unavailable', 'the database is busy or unreachable; retry later')
                : new Problem(500, 'internal', 'the database could not answer'),
        );
    });

    const json = (reply, status, body) =>
        reply.code(status).header('Vary', 'Accept').type('application/json').send(JSON.stringify(body));

    // The count and the page on one connection, one after the other (as strata does).
    app.get('/api/v1/posts', async (req, reply) => {
        const { limit, offset } = paging(req.query);
        const db = await pool.connect();
        try {
            const total = (await query(db, types, 'postCount', [])).rows[0].n;
            const rows = (await query(db, types, 'postPage', [limit, offset])).rows;
            const meta = { limit, offset, total };
            return json(reply, 200, { data: rows.map(postJson), meta, links: listLinks(req, limit, offset, total) });
        } finally {
            db.release();
        }
    });

    app.get('/api/v1/posts/:id', async (req, reply) => {
        const id = pathId(req.params.id);
        const r = await query(pool, types, 'postOne', [id]);
        if (!r.rows.length) throw new Problem(404, 'not_found', `no post ${id}`);
        const post = r.rows[0];
        const etag = `"${id}-${post.version}"`;
        reply.header('ETag', etag);
        if (req.headers['if-none-match'] === etag) return reply.code(304).send();
        return json(reply, 200, postJson(post));
    });

    // The post must exist (404 otherwise), then the count and the page: three statements on
    // one connection, as strata's blog_comments.c.
    app.get('/api/v1/posts/:id/comments', async (req, reply) => {
        const id = pathId(req.params.id);
        const { limit, offset } = paging(req.query);
        const db = await pool.connect();
        try {
            if (!(await query(db, types, 'postExists', [id])).rows.length)
                throw new Problem(404, 'not_found', `no post ${id}`);
            const total = (await query(db, types, 'commentCount', [id])).rows[0].n;
            const rows = (await query(db, types, 'commentPage', [id, limit, offset])).rows;
            const meta = { limit, offset, total };
            return json(reply, 200, { data: rows.map(commentJson), meta, links: listLinks(req, limit, offset, total) });
        } finally {
            db.release();
        }
    });

    // The post, its tags and the re-read in one transaction: a failure anywhere rolls all
    // of it back, so a 4xx or 5xx never leaves a partial row.
    app.post('/api/v1/posts', async (req, reply) => {
        const b = jsonBody(req);
        validateCreate(b);
        const tags = [...new Set(b.tags || [])];
        const db = await pool.connect();
        let post;
        try {
            await db.query('BEGIN');
            if (!(await query(db, types, 'userExists', [b.author_id])).rows.length)
                throw new Problem(422, 'validation_failed', fieldsInvalid(1), [
                    { field: 'author_id', code: 'not_found', message: 'no user with this id' },
                ]);
            const now = Math.floor(Date.now() / 1000);
            const values = [b.author_id, b.title, b.body, b.status || 'draft', now];
            const id = (await query(db, types, 'postInsert', values)).rows[0].id;
            if (tags.length) {
                await query(db, types, 'tagsInsert', [tags]);
                await query(db, types, 'postTagsInsert', [id, tags]);
            }
            post = (await query(db, types, 'postOne', [id])).rows[0];
            await db.query('COMMIT');
        } catch (err) {
            // a connection that cannot even roll back is broken: drop it from the pool
            const broken = await db.query('ROLLBACK').then(
                () => false,
                () => true,
            );
            db.release(broken);
            throw err;
        }
        db.release();
        reply.header('Location', `/api/v1/posts/${post.id}`);
        return json(reply, 201, postJson(post));
    });
};

-- Q32: the blog tables with their constraints spelled out: NOT NULL on required columns,
-- UNIQUE email, foreign keys, a CHECK on the post status and defaults for status and time.
-- Portable: runs on SQLite and PostgreSQL as it is.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE CHECK (email LIKE '%_@_%'),
    name       TEXT NOT NULL CHECK (length(name) > 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE posts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    title      TEXT NOT NULL CHECK (length(title) > 0),
    body       TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE comments (
    id         INTEGER PRIMARY KEY,
    post_id    INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL CHECK (length(body) > 0),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

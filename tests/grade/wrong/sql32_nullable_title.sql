-- wrong (Q32): posts.title may be NULL.
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                    title TEXT, body TEXT NOT NULL,
                    status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
                    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
                       user_id INTEGER NOT NULL REFERENCES users (id), body TEXT NOT NULL);

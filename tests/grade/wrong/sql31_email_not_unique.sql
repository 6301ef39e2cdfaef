-- wrong (Q31): email is required but not UNIQUE: two accounts can share one address.
CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                    title TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
                       user_id INTEGER NOT NULL REFERENCES users (id), body TEXT NOT NULL);

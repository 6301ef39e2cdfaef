-- wrong (Q38): indexes on columns nobody filters by.
CREATE INDEX posts_title_idx ON posts (title);
CREATE INDEX comments_body_idx ON comments (body);

-- Q38: indexes for the two lookups every page of the blog does. Foreign key columns are
-- not indexed automatically (neither SQLite nor PostgreSQL do it), so "a user's posts" and
-- "a post's comments" would scan the whole table without these.
CREATE INDEX posts_user_id_idx ON posts (user_id);
CREATE INDEX comments_post_id_idx ON comments (post_id);

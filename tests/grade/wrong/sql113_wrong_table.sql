-- wrong (Q113): an index that the slow query cannot use at all.
CREATE INDEX comments_post_idx ON comments (post_id);

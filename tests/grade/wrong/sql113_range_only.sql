-- wrong (Q113): an index on the range column alone: the user filter is still applied row by row.
CREATE INDEX comments_created_idx ON comments (created_at);

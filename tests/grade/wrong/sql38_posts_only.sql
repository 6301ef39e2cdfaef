-- wrong (Q38): only the posts lookup is indexed; a post's comments are still a full scan.
CREATE INDEX posts_user_id_idx ON posts (user_id);

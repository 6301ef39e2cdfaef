-- wrong (Q115): validates, but only updates the post: no post_events row.
CREATE FUNCTION publish_post(p_post_id integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE posts SET status = 'published' WHERE id = p_post_id AND status = 'draft';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'post % is not a draft', p_post_id;
    END IF;
END;
$$;

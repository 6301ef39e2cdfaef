-- Q115 (PostgreSQL): publish a draft in one call. The function validates first (the post
-- exists and is a draft; FOR UPDATE locks the row so two concurrent calls cannot both see
-- 'draft'), then changes two tables. A function call is one statement, so it is atomic:
-- when it raises, nothing it did stays.
CREATE FUNCTION publish_post(p_post_id integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
BEGIN
    SELECT status INTO v_status FROM posts WHERE id = p_post_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'post % does not exist', p_post_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_status <> 'draft' THEN
        RAISE EXCEPTION 'post % is %, not a draft', p_post_id, v_status USING ERRCODE = 'check_violation';
    END IF;

    UPDATE posts SET status = 'published' WHERE id = p_post_id;
    INSERT INTO post_events (post_id, kind) VALUES (p_post_id, 'published');
END;
$$;

-- wrong (Q115): publishes whatever it is given: an already published post gets a second event.
CREATE FUNCTION publish_post(p_post_id integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE posts SET status = 'published' WHERE id = p_post_id;
    INSERT INTO post_events (post_id, kind) VALUES (p_post_id, 'published');
END;
$$;

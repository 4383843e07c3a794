-- Retention (job "notifications-retention") deletes the oldest finished rows in bounded batches. These
-- partial indexes hold only rows it may delete, in the order it deletes them, so a batch reads exactly the
-- rows it removes and never walks past pending deliveries or unread messages.
CREATE INDEX deliveries_finished_idx ON notifications.deliveries (created_at) WHERE status IN ('sent', 'dead');
CREATE INDEX messages_read_idx ON notifications.messages (read_at) WHERE read_at IS NOT NULL;

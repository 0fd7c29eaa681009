-- desksync schema 003: what LiveZilla adds to the shared model. Declared in src/tables.rs.

-- Internal comments operators attach to ticket messages. comment_id is LiveZilla's comment key
-- (or <message id>-<n> when the server sends comments as a list); replaced with every read of
-- the ticket, so a removed comment disappears.
CREATE TABLE IF NOT EXISTS ticket_comments (
    source                       VARCHAR NOT NULL,
    account                      VARCHAR NOT NULL,
    ticket_id                    VARCHAR NOT NULL,
    comment_id                   VARCHAR NOT NULL,
    message_id                   VARCHAR,
    operator_id                  VARCHAR,
    created_at                   TIMESTAMPTZ,
    comment                      VARCHAR,
    content_hash                 VARCHAR,
    raw                          VARCHAR,
    synced_at                    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, account, ticket_id, comment_id)
);

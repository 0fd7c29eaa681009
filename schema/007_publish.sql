-- Tables changed since the analysts' snapshot was last published: a publish re-copies only
-- these (and the bookkeeping tables), in the load's own transaction so a crash cannot lose one.
CREATE TABLE IF NOT EXISTS _desksync_publish_dirty (
    "table" VARCHAR PRIMARY KEY
);

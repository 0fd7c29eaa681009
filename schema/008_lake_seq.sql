-- A sequence number per dirty lake partition, bumped by every load that touches it again: an
-- export clears a partition's mark only if the number is still the one it read, so a load
-- committed while the export ran is exported by the next one.
ALTER TABLE _desksync_lake_dirty ADD COLUMN seq BIGINT DEFAULT 0;

-- The lake tables this warehouse has exported to, per lake location. The first export to a
-- location (a new lake, one moved to S3, the Delta lake replacing the older Parquet layout, an
-- instance joining a shared lake) writes every partition of the table, not only changed ones.
CREATE TABLE IF NOT EXISTS _desksync_lake_tables (
    location  VARCHAR NOT NULL,
    "table"   VARCHAR NOT NULL,
    since     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (location, "table")
);

"""Read every desksync lake table with the Python `deltalake` package (delta-rs's Python
binding, a reader separate from the writer's code) and compare it with the warehouse row for
row in DuckDB. Prints a JSON list of [table, rows in the lake, rows missing, rows extra].

usage: lake_check.py LAKE_ROOT WAREHOUSE OPTIONS_JSON TABLES
OPTIONS_JSON holds object-store options; "desksync_source" (not passed on) limits the
comparison to one source's rows, for lakes shared by several warehouses.
"""
import json
import sys

import duckdb
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

root, warehouse, options, tables = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4].split(",")
source = options.pop("desksync_source", None)
con = duckdb.connect()
con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
out = []
for table in tables:
    where = f"WHERE source = '{source}'" if source else ""
    in_wh = con.execute(f"SELECT count(*) FROM wh.{table} {where}").fetchall()[0][0]
    try:
        dt = DeltaTable(f"{root.rstrip('/')}/{table}", storage_options=options or None)
    except TableNotFoundError:
        if in_wh:
            out.append([table, 0, in_wh, 0])
        continue
    lk = dt.to_pyarrow_table()
    con.register("lk", lk)
    cols = ", ".join(f'"{r[0]}"' for r in con.execute(f"DESCRIBE wh.{table}").fetchall())
    count = lambda sql: con.execute(sql).fetchall()[0][0]
    in_lake = count(f"SELECT count(*) FROM lk {where}")
    missing = count(f"SELECT count(*) FROM (SELECT {cols} FROM wh.{table} {where} EXCEPT ALL SELECT {cols} FROM lk {where})")
    extra = count(f"SELECT count(*) FROM (SELECT {cols} FROM lk {where} EXCEPT ALL SELECT {cols} FROM wh.{table} {where})")
    con.unregister("lk")
    out.append([table, in_lake, missing, extra])
print(json.dumps(out))

// Package ese writes Extensible Storage Engine (ESE, "JET Blue") database
// files: the format of SRUDB.dat and other Windows databases.
//
// What is written is a clean-shutdown database in format 0x620, revision
// 0x14 (as created by Windows 10's ESENT), with 4 KiB pages carrying the
// XOR and ECC checksums of the "new record format":
//
//   - page 0 and 1 of the file: the database header and its shadow copy;
//   - database page 1: the database root (object 1) with its owned-space
//     and available-space trees on pages 2 and 3;
//   - database page 4: the catalog MSysObjects (object 2), listing every
//     table, its columns and its primary index, within the 20 pages
//     Windows reserves for it; MSysObjectsShadow (object 3) holds a copy
//     on page 24, where libesedb requires it;
//   - one B-tree per table, keyed by the table's primary (clustered)
//     index, with leaf pages chained left to right and parent pages
//     added as the table grows.
//
// Fixed, variable and tagged columns are supported. Not written:
// secondary indexes, long-value trees (tagged long values must be small
// enough to stay in the record), prefix key compression, and the
// MSysObjids and MSysLocales tables. The readers we test against
// (libesedb, go-ese) do not use them.
package ese

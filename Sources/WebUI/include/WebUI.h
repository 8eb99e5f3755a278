// WebUI: device-app's web assets (web/device), packed into the firmware by
// scripts/pack_web.py into ../packed.c. The table is laid out as mk_packed_file
// (CMeerkat.h): pass it to Meerkat's PackedFS(table:count:).
#ifndef WEBUI_H
#define WEBUI_H

/// The packed files (sorted by path) and, in *count, how many.
const void *webui_files(int *count);

#endif

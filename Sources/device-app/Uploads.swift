import Meerkat

/// The dashboard's answers to an upload (POST /api/upload, a form with one file, stored
/// by the library's `Upload` in `<dir>/uploads/`), as JSON: what was stored, `{"file",
/// "bytes", "crc32"}` with 200, or why not, `{"error"}` with the status the error calls
/// for (413 too large, 500 storage, 400 the rest).
func uploadAnswer(_ upload: Upload) -> (Int, [UInt8]) {
    do throws(UploadError) {
        let stored = try upload.finish()
        return (
            200,
            jsonObject { o in
                o.add("file", stored.name)
                o.add("bytes", stored.bytes)
                o.add("crc32", stored.crc.hex)
            }
        )
    } catch {
        return (error.status, uploadAnswer(error))
    }
}

func uploadAnswer(_ error: UploadError) -> [UInt8] {
    jsonObject { $0.add("error", error.description) }
}

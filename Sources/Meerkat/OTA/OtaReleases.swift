import CMeerkat

/// The install layout of updatable firmware, under a root (`/opt/NAME` on a board, a
/// temporary folder in tests):
///
///     releases/<id>/<binary>   one folder per release, whole before it has that name
///     current -> releases/<id> what the service runs (the launcher starts current/<binary>)
///     previous -> releases/<id> what a rollback returns to
///     staging/                 images being received and releases being assembled
///     state/                   <id>.confirmed, <id>.starts, <id>.bad, rollback (launcher)
///
/// Every change is made under a name nobody reads, synced, then renamed into place and
/// the folder synced: a power cut or kill -9 at any point leaves the old release or the
/// new one current, never a half-written one.
public struct OtaReleases {
    public let root: String
    /// The executable's name inside a release folder.
    public let binary: String

    public init(root: String, binary: String) {
        self.root = root
        self.binary = binary
    }

    public var releasesFolder: String { root + "/releases" }
    public var stagingFolder: String { root + "/staging" }
    public var stateFolder: String { root + "/state" }

    /// Makes the folders of the layout that are missing.
    public func makeFolders() throws(FileError) {
        for folder in [root, releasesFolder, stagingFolder, stateFolder] { try File.makeFolder(folder) }
    }

    /// Removes what an install or a confirmation killed midway left (call at start,
    /// before any update): partial images and half-assembled release folders in the
    /// staging folder, a confirmation marker's temporary in the state folder. Returns how
    /// many were removed.
    @discardableResult
    public func removeLeftovers() -> Int {
        var removed = File.removeTemporaries(in: stagingFolder) + File.removeTemporaries(in: stateFolder)
        var folders: [String] = []
        try? File.list(stagingFolder) { entry in
            if entry.isFolder { folders.append(entry.name.string) }
        }
        for name in folders where removeFolder(stagingFolder + "/" + name) { removed += 1 }
        return removed
    }

    /// Removes `folder` and the files in it (a release folder has no subfolders); true
    /// when it is gone.
    private func removeFolder(_ folder: String) -> Bool {
        try? File.list(folder) { entry in _ = try? File.remove(folder + "/" + entry.name.string) }
        return folder.withCString({ rmdir($0) }) == 0
    }

    /// The id of the release `current` points to, or nil when none is installed.
    public func current() -> String? { linkedRelease(root + "/current") }

    /// The id of the release `previous` points to (where a rollback goes), or nil.
    public func previous() -> String? { linkedRelease(root + "/previous") }

    /// True once the app has said the release is healthy (`confirm`).
    public func isConfirmed(_ id: String) -> Bool { exists(stateFolder + "/" + id + ".confirmed") }

    /// True when the launcher gave up on the release (it failed K starts).
    public func isRejected(_ id: String) -> Bool { exists(stateFolder + "/" + id + ".bad") }

    /// Marks the current release healthy, durably: the launcher stops counting its
    /// starts and will not roll it back. Call it once the app has shown it works (its
    /// first served request, its broker connection). Then removes the releases no link
    /// names (`prune`), even when the release was confirmed already: a kill may have
    /// come between an earlier confirmation and its pruning.
    public func confirm() throws(FileError) {
        guard let id = current() else { return }
        if !isConfirmed(id) {
            let path = stateFolder + "/" + id + ".confirmed"
            let (file, temporary) = try File.createTemporary(for: path)
            defer { file.close() }
            try file.sync()
            try File.replace(path, with: temporary)
        }
        try prune()
    }

    /// Removes every release folder that is neither `current` nor `previous` (each is a
    /// whole firmware binary, and a board has little flash), with its `.starts` and
    /// `.confirmed` state; `<id>.bad` stays, so that a release given up is never
    /// installed again. Each folder is renamed into staging first (synced) and removed
    /// there: a kill midway leaves it where `removeLeftovers` clears it at the next start,
    /// never a half-removed release under releases/. Returns the ids removed.
    @discardableResult
    public func prune() throws(FileError) -> [String] {
        guard let current = current() else { return [] }
        let previous = previous()
        var old: [String] = []
        try File.list(releasesFolder) { entry in
            let id = entry.name.string
            if entry.isFolder && id != current && id != previous { old.append(id) }
        }
        guard !old.isEmpty else { return [] }
        try makeFolders()  // a root the launcher made has no staging folder yet
        for id in old {
            let parked = stagingFolder + "/" + id
            _ = removeFolder(parked)  // an earlier prune's, if a kill came before the start's cleanup
            try File.rename(releasesFolder + "/" + id, to: parked)
        }
        try File.syncFolder(releasesFolder)
        try File.syncFolder(stagingFolder)
        for id in old {
            _ = removeFolder(stagingFolder + "/" + id)
            _ = try? File.remove(stateFolder + "/" + id + ".starts")
            _ = try? File.remove(stateFolder + "/" + id + ".confirmed")
        }
        try File.syncFolder(stagingFolder)
        try File.syncFolder(stateFolder)
        return old
    }

    /// What the launcher wrote when it rolled back (the release given up and why), or
    /// nil when it never did; without the line end the launcher writes after it.
    public func rollbackReport(limit: Int = 1024) -> String? {
        guard let bytes = try? File.contents(stateFolder + "/rollback", limit: limit) else { return nil }
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D || bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 {
            end -= 1
        }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Puts the verified image at `staged` (a file in the staging folder, synced) in
    /// place as release `id` and makes it current; the release that was current becomes
    /// `previous`. The image is moved, not copied.
    public func install(staged: String, id: String) throws(OtaError) {
        guard !isRejected(id) else { throw .rejectedRelease }
        let release = releasesFolder + "/" + id
        do throws(FileError) {
            if !exists(release) {
                // Assembled in staging, where no launcher looks, then renamed whole.
                let assembly = stagingFolder + "/" + id
                _ = assembly.withCString { rmdir($0) }
                try File.makeFolder(assembly)
                try File.rename(staged, to: assembly + "/" + binary)
                try File.syncFolder(assembly)
                try File.rename(assembly, to: release)
                try File.syncFolder(releasesFolder)
                try File.syncFolder(stagingFolder)
            } else {
                try File.remove(staged)  // the same bytes are there already
            }
            let old = current()
            if let old, old != id { try swapLink(root + "/previous", to: "releases/" + old) }
            try swapLink(root + "/current", to: "releases/" + id)
        } catch {
            throw .storage(error)
        }
    }

    /// Points `link` at `target` atomically: a new link under a temporary name, renamed
    /// over the old one, then the folder synced.
    private func swapLink(_ link: String, to target: String) throws(FileError) {
        let temporary = link + ".tmp"
        _ = temporary.withCString { unlink($0) }
        let rc = target.withCString { t in temporary.withCString { symlink(t, $0) } }
        guard rc == 0 else { throw .system(mk_errno()) }
        try File.rename(temporary, to: link)
        try File.syncFolder(root)
    }

    /// The release id a link `releases/<id>` names.
    private func linkedRelease(_ link: String) -> String? {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buffer) { out -> String? in
            let n = link.withCString { readlink($0, out.baseAddress!.assumingMemoryBound(to: CChar.self), out.count) }
            guard n > 0, n < out.count else { return nil }
            let target = ByteView(UnsafeRawBufferPointer(rebasing: out[..<n]))
            let prefix: StaticString = "releases/"
            guard target.count > prefix.utf8CodeUnitCount, target.hasPrefix(prefix) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: out[prefix.utf8CodeUnitCount..<n]), as: UTF8.self)
        }
    }

    private func exists(_ path: String) -> Bool {
        var info = mk_file_info()
        return path.withCString { mk_stat_path($0, &info) } == 0
    }
}

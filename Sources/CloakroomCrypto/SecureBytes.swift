internal import CSodium

/// Bytes that must not outlive their use: held in `sodium_malloc` memory (guard pages,
/// locked out of swap where the OS allows) and zeroed when released. Up to 8 KiB come from
/// `SecurePool`'s reused blocks; more is a `sodium_malloc` of its own.
///
/// The bytes are reachable only inside `withUnsafeBytes`, never as an array, so a copy
/// in ordinary heap memory is always a visible, deliberate act.
///
/// A slice (`init(slice:of:)`) is a view into another allocation that keeps it alive: ten
/// thousand secrets of a bundle share one `sodium_malloc` region instead of ten thousand
/// (each costs guard pages, `mprotect` and `mlock` calls, and a locked page of memory).
package final class SecureBytes: @unchecked Sendable {
    // @unchecked: the memory is written only during initialisation, then read-only.
    private let pointer: UnsafeMutableRawPointer
    package let count: Int
    /// The allocation a slice lies in; `nil` for the allocation itself, which frees it.
    private let owner: SecureBytes?
    /// The `SecurePool` size class of the allocation, or -1 for a `sodium_malloc` of its own.
    private let sizeClass: Int

    /// Fills `count` bytes with `fill`, which sees the uninitialised buffer once.
    package init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        Sodium.ensureReady()
        if let (pointer, sizeClass) = SecurePool.allocate(count) {
            self.pointer = pointer
            self.sizeClass = sizeClass
        } else if let pointer = sodium_malloc(count) {
            self.pointer = pointer
            self.sizeClass = -1
        } else {
            fatalError("sodium_malloc(\(count)) failed: out of locked memory")
        }
        self.count = count
        self.owner = nil
        // Every stored property is set, so if `fill` throws, Swift releases the half-made object
        // and `deinit` frees (and zeroes) the memory. Freeing it here as well was a double free:
        // `cloak client add --secret-stdin < /` died of SIGSEGV.
        try fill(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// `count` bytes from the operating system's CSPRNG.
    package convenience init(randomCount count: Int) {
        self.init(count: count) { buffer in
            if count > 0 { randombytes_buf(buffer.baseAddress!, count) }
        }
    }

    /// A secure copy of `bytes`. The caller remains responsible for its own copy.
    package convenience init(copying bytes: some Collection<UInt8>) {
        self.init(count: bytes.count) { buffer in
            _ = buffer.initializeMemory(as: UInt8.self, from: bytes)
        }
    }

    /// The bytes `range` of `parent`, without a copy. The parent's memory is zeroed and freed
    /// when it and every slice of it are released.
    package init(slice range: Range<Int>, of parent: SecureBytes) {
        precondition(range.lowerBound >= 0 && range.upperBound <= parent.count, "a slice lies within its parent")
        pointer = parent.pointer + range.lowerBound
        count = range.count
        owner = parent.owner ?? parent
        sizeClass = -1
    }

    deinit {
        guard owner == nil else { return }
        // Both zero the whole allocation before it can be used again.
        if sizeClass >= 0 { SecurePool.release(pointer, sizeClass: sizeClass) } else { sodium_free(pointer) }
    }

    package func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time comparison: how long it takes says nothing about where the bytes differ.
    package func isEqual(to other: SecureBytes) -> Bool {
        guard count == other.count else { return false }
        if count == 0 { return true }
        return sodium_memcmp(pointer, other.pointer, count) == 0
    }
}

extension SecureBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension SecureBytes {
    /// `count` bytes drawn uniformly from `alphabet` with libsodium's CSPRNG, written straight
    /// into secure memory.
    ///
    /// Random bytes are drawn 64 at a time, and a byte at or above the largest multiple of the
    /// alphabet's size is skipped, so the choice has no modulo bias. (`randombytes_uniform` per
    /// character did the same with one `getrandom` system call each: 86 calls per secret.)
    /// The drawn bytes live on the stack and are zeroed before it returns.
    package convenience init(randomFrom alphabet: [UInt8], count: Int) {
        precondition(!alphabet.isEmpty && alphabet.count <= 256)
        Sodium.ensureReady()
        let limit = 256 - 256 % alphabet.count
        self.init(count: count) { buffer in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { pool in
                var filled = 0
                var drawn = pool.count
                while filled < count {
                    if drawn == pool.count {
                        randombytes_buf(pool.baseAddress!, pool.count)
                        drawn = 0
                    }
                    let byte = Int(pool[drawn])
                    drawn += 1
                    if byte < limit {
                        buffer[filled] = alphabet[byte % alphabet.count]
                        filled += 1
                    }
                }
                sodium_memzero(pool.baseAddress!, pool.count)
            }
        }
    }
}

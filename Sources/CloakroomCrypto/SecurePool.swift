internal import CSodium
import Synchronization

/// Small blocks of secure memory, reused: a secret, a request body, a key. Each block lies in a
/// `sodium_malloc` region (locked out of swap, kept out of core dumps, guard pages around the
/// region), is zeroed the moment it is released, and goes back to its size's free list.
///
/// Why: `sodium_malloc` and `sodium_free` cost two `mmap`/`munmap`, `mprotect`s, `mlock` and
/// `madvise` each, and every `mprotect` in a threaded process makes the kernel interrupt the
/// other cores to flush their TLBs. A bulk rotation made three per client: a tenth of its CPU
/// time. What is given up: a block has no guard page or canary of its own, only the region
/// around it does — an overrun of one block into its neighbour is not caught. Secure memory is
/// only ever written through `SecureBytes.init(count:fill:)`'s bounded buffer.
enum SecurePool {
    /// The block sizes; anything larger is a `sodium_malloc` of its own.
    static let sizes = [128, 512, 2048, 8192]
    /// How much one region holds: blocks are carved from it 64 KiB at a time at most.
    private static let regionSize = 65_536

    /// Free blocks by size class, as addresses (a raw pointer is not `Sendable`).
    private static let free = Mutex<[[UInt]]>(Array(repeating: [], count: sizes.count))

    /// A block of at least `count` bytes and its size class, or `nil` when `count` is larger
    /// than any class.
    static func allocate(_ count: Int) -> (pointer: UnsafeMutableRawPointer, sizeClass: Int)? {
        guard let sizeClass = sizes.firstIndex(where: { count <= $0 }) else { return nil }
        let address = free.withLock { free -> UInt? in
            if let address = free[sizeClass].popLast() { return address }
            // A new region for this size: one block is the caller's, the rest are free.
            let size = sizes[sizeClass]
            guard let region = sodium_malloc(regionSize) else { return nil }
            let base = UInt(bitPattern: region)
            free[sizeClass].append(contentsOf: stride(from: size, to: regionSize, by: size).map { base + UInt($0) })
            return base
        }
        guard let address, let pointer = UnsafeMutableRawPointer(bitPattern: address) else {
            fatalError("sodium_malloc(\(regionSize)) failed: out of locked memory")
        }
        return (pointer, sizeClass)
    }

    /// Zeroes the block and makes it free again.
    static func release(_ pointer: UnsafeMutableRawPointer, sizeClass: Int) {
        sodium_memzero(pointer, sizes[sizeClass])
        free.withLock { $0[sizeClass].append(UInt(bitPattern: pointer)) }
    }
}

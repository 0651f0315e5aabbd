//! The allocator setting that lets the memory budget bound RSS.
//!
//! glibc serves allocations over its mmap threshold with their own mappings, returned to
//! the OS when freed, but raises the threshold (up to 32 MiB) each time such a block is
//! freed. Edge chunks and staging buffers are freed and reallocated all the time under a
//! budget, so after the first frees they come from the arenas instead, where freed pages
//! stay resident and are reused only by the same thread: RSS then grows well past the
//! budget although the live data does not (measured on RMAT 20, SSSP at a quarter of its
//! footprint: 610 MiB peak against 399 MiB with the threshold fixed). Setting the threshold
//! explicitly turns the dynamic adjustment off.

/// Fixes glibc's mmap threshold at 128 KiB (its default starting value); once per process.
pub(crate) fn bound_resident_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(set_mmap_threshold);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_mmap_threshold() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: `mallopt` only sets an allocator parameter (glibc takes its own lock); the
    // arguments are plain integers.
    let ok = unsafe { mallopt(M_MMAP_THRESHOLD, 128 << 10) };
    if ok != 1 {
        tracing::debug!("mallopt(M_MMAP_THRESHOLD) failed");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_mmap_threshold() {}

//! Replacing a file whole: the new contents go to a temporary file beside it, which is
//! renamed over the target. On any failure (a full disk, a file-size limit, an I/O error)
//! the temporary file is removed before the error is returned, so a failed write leaves
//! nothing behind.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::manifest::sync_dir;

/// Writes `target` through `tmp`: `write` fills the temporary file, which is then (when
/// `durable`) fsynced, renamed to `target`, and the directory fsynced. Without `durable`
/// nothing is fsynced (for caches that are checked when read).
pub(crate) fn replace_file(
    target: &Path,
    tmp: &Path,
    durable: bool,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let res = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .at(tmp)?;
        write(&mut f).at(tmp)?;
        if durable {
            f.sync_all().at(tmp)?;
        }
        drop(f);
        fs::rename(tmp, target).at(target)
    })();
    if let Err(e) = res {
        match fs::remove_file(tmp) {
            Ok(()) => {}
            Err(r) if r.kind() == std::io::ErrorKind::NotFound => {}
            Err(r) => tracing::warn!("cannot remove {} after a failed write: {r}", tmp.display()),
        }
        return Err(e);
    }
    match target.parent() {
        Some(dir) if durable => sync_dir(dir),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_keeps_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let tmp = dir.path().join("f.tmp");
        fs::write(&target, b"old").unwrap();
        for durable in [false, true] {
            let err = replace_file(&target, &tmp, durable, |f| {
                f.write_all(&[7u8; 4096])?;
                Err(std::io::Error::from_raw_os_error(28)) // ENOSPC
            })
            .unwrap_err();
            assert!(err.to_string().contains("f.tmp"), "{err}");
            assert!(!tmp.exists(), "the temporary file is removed at once");
            assert_eq!(fs::read(&target).unwrap(), b"old");
        }
        replace_file(&target, &tmp, true, |f| f.write_all(b"new")).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert!(!tmp.exists());
    }
}

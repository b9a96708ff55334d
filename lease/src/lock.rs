//! One server per lease database: an exclusive lock on `<database>.lock`, held for the
//! life of the process, with the holder's process ID written in the file so that a
//! second server can say who has it. The kernel lets go of the lock when the process
//! ends, however it ends (kill -9 included), so a stale file never blocks a restart.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::StoreError;

/// The held lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

impl DatabaseLock {
    /// Takes the lock of lease database `database`, or says which process holds it.
    pub fn acquire(database: &Path) -> Result<DatabaseLock, StoreError> {
        let mut name = database.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        crate::sqlite::create_database_dir(database)?;
        let lock_err = |source| StoreError::Lock {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_err)?;
        // SAFETY: flock on a file descriptor this function owns; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::WouldBlock {
                return Err(lock_err(err));
            }
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(StoreError::InUse {
                database: database.to_path_buf(),
                holder: text
                    .trim()
                    .parse()
                    .ok()
                    .map(zerotouch_net::describe_process),
            });
        }
        file.set_len(0).map_err(lock_err)?;
        file.rewind().map_err(lock_err)?;
        writeln!(file, "{}", std::process::id()).map_err(lock_err)?;
        Ok(DatabaseLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/leases.sqlite");
        let held = DatabaseLock::acquire(&db).unwrap();
        let text = std::fs::read_to_string(held.path()).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        // flock locks belong to the open file: a second open in this process conflicts
        // as a second process would.
        let err = DatabaseLock::acquire(&db).unwrap_err().to_string();
        assert!(
            err.contains(&format!("is in use by pid {} (", std::process::id())),
            "{err}"
        );
        drop(held);
        DatabaseLock::acquire(&db).unwrap();
        let other = dir.path().join("other.sqlite");
        DatabaseLock::acquire(&other).unwrap();
    }
}

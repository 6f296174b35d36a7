//! The data directory: one process at a time (an exclusive lock on
//! `<data_dir>/gongjian.lock`, held for the life of the process) and
//! private files (0700 directories, 0600 files).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use gongjian_config::Config;

/// Name of the lock file inside the data directory.
pub const LOCK_FILE: &str = "gongjian.lock";

/// Mode of every directory the platform creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file the platform creates.
pub const FILE_MODE: u32 = 0o600;

/// The data directory, locked for this process. Dropping it releases the
/// lock (so does the process ending, however it ends).
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Make files this process creates private from now on (umask 077): the
/// SQLite file and its -wal/-shm, attachments, archives.
pub fn private_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    }
}

/// Create `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder
        .create(dir)
        .with_context(|| format!("无法创建目录 {}", dir.display()))
}

/// Open a new file for writing with mode 0600; fails if it exists.
pub fn create_private_file(path: &Path) -> anyhow::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
        .open(path)
        .with_context(|| format!("无法创建文件 {}", path.display()))
}

/// Everything a command that owns the data directory (serve, demo,
/// migrate, restore) does first: private umask, the directory and its
/// attachments directory created 0700, the exclusive lock, and the modes of
/// what is already there repaired (with a warning).
pub fn prepare(config: &Config) -> anyhow::Result<DataDirLock> {
    private_umask();
    create_private_dir(&config.data_dir)?;
    let lock = lock(&config.data_dir)?;
    create_private_dir(&config.data_dir.join("attachments"))?;
    let mut fixed = restrict_tree(&config.data_dir)?;
    if let Some(db) = sqlite_file(config)
        && !db.starts_with(&config.data_dir)
    {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = db.clone().into_os_string();
            p.push(suffix);
            fixed += restrict_one(Path::new(&p))?;
        }
    }
    if fixed > 0 {
        tracing::warn!(
            fixed,
            data_dir = %config.data_dir.display(),
            "数据目录中有 {fixed} 个文件或目录可被其他用户读取，已改为仅属主可读写（目录 0700，文件 0600）"
        );
    }
    Ok(lock)
}

/// The SQLite database file of the configuration, if it uses SQLite.
pub fn sqlite_file(config: &Config) -> Option<PathBuf> {
    let url = config.database_url();
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(rest.split('?').next().unwrap_or(rest)))
}

/// Take the exclusive lock on `dir`, or say who holds it.
pub fn lock(dir: &Path) -> anyhow::Result<DataDirLock> {
    let path = dir.join(LOCK_FILE);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("无法打开锁文件 {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = Read::by_ref(&mut file).take(64).read_to_string(&mut holder);
            let holder: String = holder.trim().chars().filter(char::is_ascii_digit).collect();
            let who = if holder.is_empty() {
                "另一个 gongjian 进程".to_owned()
            } else {
                format!("另一个 gongjian 进程（PID {holder}）")
            };
            bail!(
                "数据目录 {} 正被{who}使用（锁文件 {}）。同一数据目录同时只能运行一个 \
                 serve / demo / migrate / restore；请先停止该进程，或换一个 --data-dir。",
                dir.display(),
                path.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("无法锁定 {}", path.display()));
        }
    }
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(DataDirLock { _file: file })
}

/// Take group and other permissions off everything under `dir` (symbolic
/// links are left alone and not followed). Returns how many were changed.
pub fn restrict_tree(dir: &Path) -> anyhow::Result<u64> {
    let mut fixed = restrict_one(dir)?;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("无法读取目录 {}", d.display())),
        };
        for entry in entries {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                fixed += restrict_one(&entry.path())?;
                stack.push(entry.path());
            } else if kind.is_file() {
                fixed += restrict_one(&entry.path())?;
            }
        }
    }
    Ok(fixed)
}

/// Take group and other permissions off one file or directory; 1 if it
/// changed, 0 if it was private already or is absent.
fn restrict_one(path: &Path) -> anyhow::Result<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e).with_context(|| format!("无法读取 {}", path.display())),
        };
        if meta.file_type().is_symlink() {
            return Ok(0);
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            // Keep the owner's bits (0700 directories, 0600 files as
            // created); take everyone else's away.
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))
                .with_context(|| format!("无法修改权限 {}", path.display()))?;
            return Ok(1);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(0)
}

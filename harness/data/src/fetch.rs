//! Downloads and unpacks the official CIFAR binary archives (`mixbench data fetch cifar10`).
//!
//! The archive is downloaded into the target folder under a `.partial` name, its md5 checked,
//! and only then renamed, so an interrupted download never looks complete. An archive already
//! in the folder (put there by hand on an offline machine) is verified and used without any
//! network access; an unpacked folder whose files all have their official sizes means there is
//! nothing to do. The archive is unpacked into a temporary folder beside the target and
//! renamed into place, and kept afterwards (delete it to save space). Offline, the download
//! fails within about 10 s with a message saying which file to put where, and its md5.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};

use super::cifar;

/// Which archive to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchTarget {
    /// `cifar-10-binary.tar.gz` (163 MiB), unpacks to `cifar-10-batches-bin/`.
    Cifar10,
    /// `cifar-100-binary.tar.gz` (161 MiB), unpacks to `cifar-100-binary/`.
    Cifar100,
}

impl FetchTarget {
    /// Name on the command line and in messages: "cifar10" or "cifar100".
    pub fn name(self) -> &'static str {
        match self {
            FetchTarget::Cifar10 => "cifar10",
            FetchTarget::Cifar100 => "cifar100",
        }
    }

    /// Official download address.
    pub fn url(self) -> &'static str {
        match self {
            FetchTarget::Cifar10 => "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
            FetchTarget::Cifar100 => "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        }
    }

    /// File name of the archive.
    pub fn archive_name(self) -> &'static str {
        match self {
            FetchTarget::Cifar10 => "cifar-10-binary.tar.gz",
            FetchTarget::Cifar100 => "cifar-100-binary.tar.gz",
        }
    }

    /// md5 of the official archive, lowercase hex.
    pub fn md5(self) -> &'static str {
        match self {
            FetchTarget::Cifar10 => "c32a1d4ab5d03f1284b67883e8d87530",
            FetchTarget::Cifar100 => "03b5dce01913d631647c71ecec9e9cb8",
        }
    }

    /// Folder the archive unpacks to.
    pub fn folder_name(self) -> &'static str {
        match self {
            FetchTarget::Cifar10 => cifar::CIFAR10_DIR,
            FetchTarget::Cifar100 => cifar::CIFAR100_DIR,
        }
    }

    fn source(self) -> Source {
        Source {
            name: self.name().into(),
            url: self.url().into(),
            archive: self.archive_name().into(),
            md5: self.md5().into(),
            folder: self.folder_name().into(),
            files: cifar::expected_files(self == FetchTarget::Cifar100)
                .into_iter()
                .map(|(f, s)| (f.to_string(), s))
                .collect(),
        }
    }
}

impl std::str::FromStr for FetchTarget {
    type Err = anyhow::Error;

    /// Parses "cifar10" or "cifar100" (as typed on the command line).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cifar10" => Ok(FetchTarget::Cifar10),
            "cifar100" => Ok(FetchTarget::Cifar100),
            _ => bail!("unknown data set {s:?} to fetch: expected cifar10 or cifar100"),
        }
    }
}

/// Makes sure the unpacked `which` release is in `dir` (downloading, verifying and unpacking
/// as needed) and returns the unpacked folder, e.g. `dir/cifar-10-batches-bin`.
pub fn fetch(which: FetchTarget, dir: &Path) -> Result<PathBuf> {
    fetch_source(&which.source(), dir)
}

/// Everything the fetcher needs to know about one archive (a struct so that tests can use a
/// small archive and a local address).
struct Source {
    name: String,
    url: String,
    archive: String,
    md5: String,
    folder: String,
    /// Files the unpacked folder must hold, with their exact sizes.
    files: Vec<(String, u64)>,
}

fn fetch_source(src: &Source, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let folder = dir.join(&src.folder);
    if folder.is_dir() && check_folder(&folder, &src.files).is_ok() {
        return Ok(folder);
    }
    let archive = dir.join(&src.archive);
    if archive.is_file() {
        verify_md5(&archive, &src.md5)?;
    } else {
        download(src, dir, &archive)?;
    }
    unpack(&archive, dir, &src.folder)?;
    check_folder(&folder, &src.files)
        .with_context(|| format!("after unpacking {}", archive.display()))?;
    Ok(folder)
}

/// Every expected file present with its exact size.
fn check_folder(folder: &Path, files: &[(String, u64)]) -> Result<()> {
    for (name, size) in files {
        let path = folder.join(name);
        let meta =
            std::fs::metadata(&path).with_context(|| format!("{} is missing", path.display()))?;
        ensure!(
            meta.len() == *size,
            "{} has {} bytes, expected {size}",
            path.display(),
            meta.len()
        );
    }
    Ok(())
}

/// Lowercase hex md5 of a file, streamed.
fn md5_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut ctx = md5::Context::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        ctx.consume(&buf[..n]);
    }
    Ok(format!("{:x}", ctx.compute()))
}

/// Checks the md5 of `path`; on a mismatch removes the file and reports both sums.
fn verify_md5(path: &Path, expected: &str) -> Result<()> {
    let actual = md5_file(path)?;
    if actual != expected {
        let removed = match std::fs::remove_file(path) {
            Ok(()) => "removed it".to_string(),
            Err(e) => format!("could not remove it: {e}"),
        };
        bail!(
            "checksum mismatch for {}: md5 is {actual}, expected {expected} (damaged or \
             incomplete download; {removed}, fetch again)",
            path.display()
        );
    }
    Ok(())
}

/// What to do without a network connection.
fn offline_hint(src: &Source, dir: &Path) -> String {
    format!(
        "without network access, download {} elsewhere (from {}) and put it in {} (as {}); its \
         md5 must be {}; then `mixbench data fetch {}` verifies and unpacks it without \
         downloading",
        src.archive,
        src.url,
        dir.display(),
        dir.join(&src.archive).display(),
        src.md5,
        src.name
    )
}

/// Downloads `src.url` to `<archive>.partial`, checks its md5, renames it to `archive`.
fn download(src: &Source, dir: &Path, archive: &Path) -> Result<()> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout_read(Duration::from_secs(60))
        .build();
    let response = agent.get(&src.url).call().map_err(|e| {
        anyhow!(
            "cannot download {}: {e}; {}",
            src.url,
            offline_hint(src, dir)
        )
    })?;
    let partial = dir.join(format!("{}.partial", src.archive));
    eprintln!("downloading {} to {}", src.url, partial.display());
    let result = (|| -> Result<String> {
        let mut out = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut reader = response.into_reader();
        let mut ctx = md5::Context::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(|e| {
                anyhow!(
                    "download of {} interrupted: {e}; {}",
                    src.url,
                    offline_hint(src, dir)
                )
            })?;
            if n == 0 {
                break;
            }
            ctx.consume(&buf[..n]);
            out.write_all(&buf[..n])
                .with_context(|| format!("cannot write {}", partial.display()))?;
        }
        out.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        Ok(format!("{:x}", ctx.compute()))
    })();
    let actual = match result {
        Ok(sum) => sum,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    if actual != src.md5 {
        let _ = std::fs::remove_file(&partial);
        bail!(
            "checksum mismatch for {} downloaded from {}: md5 is {actual}, expected {} (removed \
             the file; try again, or {})",
            partial.display(),
            src.url,
            src.md5,
            offline_hint(src, dir)
        );
    }
    std::fs::rename(&partial, archive).with_context(|| {
        format!(
            "cannot rename {} to {}",
            partial.display(),
            archive.display()
        )
    })?;
    Ok(())
}

/// Unpacks `archive` (tar.gz) into a temporary folder in `dir` and moves its `folder` to
/// `dir/folder`, replacing an incomplete one.
fn unpack(archive: &Path, dir: &Path, folder: &str) -> Result<()> {
    let tmp = dir.join(format!(".{folder}.unpacking"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .with_context(|| format!("cannot remove {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let file = File::open(archive).with_context(|| format!("cannot open {}", archive.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let result = tar
        .unpack(&tmp)
        .with_context(|| format!("cannot unpack {} (damaged archive?)", archive.display()));
    let moved = result.and_then(|()| {
        let src = tmp.join(folder);
        ensure!(
            src.is_dir(),
            "{} does not contain the folder {folder}/",
            archive.display()
        );
        let dst = dir.join(folder);
        if dst.exists() {
            std::fs::remove_dir_all(&dst)
                .with_context(|| format!("cannot replace {}", dst.display()))?;
        }
        std::fs::rename(&src, &dst)
            .with_context(|| format!("cannot move {} to {}", src.display(), dst.display()))
    });
    let _ = std::fs::remove_dir_all(&tmp);
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A tar.gz holding `toy-bin/a.bin` (100 bytes) and `toy-bin/b.bin` (50 bytes).
    fn toy_archive() -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, len) in [("toy-bin/a.bin", 100usize), ("toy-bin/b.bin", 50)] {
            let data: Vec<u8> = (0..len).map(|i| (i * 3) as u8).collect();
            let mut header = tar::Header::new_gnu();
            header.set_size(len as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, &data[..]).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    fn toy_source(url: &str, md5: &str) -> Source {
        Source {
            name: "toy".into(),
            url: url.into(),
            archive: "toy.tar.gz".into(),
            md5: md5.into(),
            folder: "toy-bin".into(),
            files: vec![("a.bin".into(), 100), ("b.bin".into(), 50)],
        }
    }

    const CLOSED: &str = "http://127.0.0.1:9/toy.tar.gz";

    #[test]
    fn verifies_and_unpacks_an_archive_put_by_hand() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = toy_archive();
        let sum = format!("{:x}", md5::compute(&bytes));
        std::fs::write(tmp.path().join("toy.tar.gz"), &bytes).unwrap();
        // The address is closed: success proves nothing was downloaded.
        let src = toy_source(CLOSED, &sum);
        let folder = fetch_source(&src, tmp.path()).unwrap();
        assert_eq!(folder, tmp.path().join("toy-bin"));
        let a = std::fs::read(folder.join("a.bin")).unwrap();
        assert_eq!(a.len(), 100);
        assert_eq!(a[10], 30);
        assert!(!tmp.path().join(".toy-bin.unpacking").exists());
        // A valid unpacked folder: nothing to do, even without the archive.
        std::fs::remove_file(tmp.path().join("toy.tar.gz")).unwrap();
        assert_eq!(fetch_source(&src, tmp.path()).unwrap(), folder);
        // A damaged folder is unpacked again from the archive.
        std::fs::write(tmp.path().join("toy.tar.gz"), &bytes).unwrap();
        std::fs::write(folder.join("b.bin"), b"short").unwrap();
        fetch_source(&src, tmp.path()).unwrap();
        assert_eq!(std::fs::metadata(folder.join("b.bin")).unwrap().len(), 50);
    }

    #[test]
    fn checksum_mismatch_reports_both_sums_and_removes_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = toy_archive();
        let sum = format!("{:x}", md5::compute(&bytes));
        let archive = tmp.path().join("toy.tar.gz");
        std::fs::write(&archive, &bytes).unwrap();
        let wrong = "0123456789abcdef0123456789abcdef";
        let err = format!(
            "{:#}",
            fetch_source(&toy_source(CLOSED, wrong), tmp.path()).unwrap_err()
        );
        assert!(err.contains(wrong) && err.contains(&sum), "{err}");
        assert!(err.contains("toy.tar.gz"), "{err}");
        assert!(!archive.exists());
        assert!(!tmp.path().join("toy-bin").exists());
    }

    #[test]
    fn offline_error_says_where_to_put_the_archive() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        let sum = "c32a1d4ab5d03f1284b67883e8d87530";
        let err = format!(
            "{:#}",
            fetch_source(&toy_source(CLOSED, sum), &dir).unwrap_err()
        );
        assert!(
            err.contains("cannot download http://127.0.0.1:9/toy.tar.gz"),
            "{err}"
        );
        assert!(
            err.contains(&dir.join("toy.tar.gz").display().to_string()),
            "{err}"
        );
        assert!(err.contains(sum), "{err}");
        assert!(err.contains("mixbench data fetch toy"), "{err}");
        assert!(!dir.join("toy.tar.gz.partial").exists());
        assert!(!dir.join("toy.tar.gz").exists());
    }

    /// Serves `body` once over HTTP on a local port; returns the URL.
    fn serve_once(body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
        let len = body.len();
        serve_once_claiming(body, len)
    }

    /// Serves `body` once, announcing `claimed` bytes (more than sent: a cut connection).
    fn serve_once_claiming(body: Vec<u8>, claimed: usize) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/toy.tar.gz", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(&body).unwrap();
        });
        (url, handle)
    }

    #[test]
    fn downloads_verifies_and_renames() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = toy_archive();
        let sum = format!("{:x}", md5::compute(&bytes));
        let (url, server) = serve_once(bytes.clone());
        let folder = fetch_source(&toy_source(&url, &sum), tmp.path()).unwrap();
        server.join().unwrap();
        assert_eq!(std::fs::read(tmp.path().join("toy.tar.gz")).unwrap(), bytes);
        assert!(!tmp.path().join("toy.tar.gz.partial").exists());
        assert_eq!(std::fs::metadata(folder.join("a.bin")).unwrap().len(), 100);

        // A download with the wrong checksum leaves nothing behind.
        let tmp = tempfile::tempdir().unwrap();
        let (url, server) = serve_once(b"not the archive".to_vec());
        let err = format!(
            "{:#}",
            fetch_source(&toy_source(&url, &sum), tmp.path()).unwrap_err()
        );
        server.join().unwrap();
        assert!(
            err.contains("checksum mismatch") && err.contains(&sum),
            "{err}"
        );
        assert!(
            err.contains(&format!("{:x}", md5::compute(b"not the archive"))),
            "{err}"
        );
        assert!(!tmp.path().join("toy.tar.gz.partial").exists());
        assert!(!tmp.path().join("toy.tar.gz").exists());
    }

    #[test]
    fn interrupted_download_leaves_no_partial_file() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = toy_archive();
        let sum = format!("{:x}", md5::compute(&bytes));
        let half = bytes[..bytes.len() / 2].to_vec();
        let (url, server) = serve_once_claiming(half, bytes.len());
        let err = format!(
            "{:#}",
            fetch_source(&toy_source(&url, &sum), tmp.path()).unwrap_err()
        );
        server.join().unwrap();
        assert!(err.contains("interrupted"), "{err}");
        assert!(err.contains("toy.tar.gz"), "{err}");
        assert!(!tmp.path().join("toy.tar.gz.partial").exists());
        assert!(!tmp.path().join("toy.tar.gz").exists());
    }

    #[test]
    fn archive_without_the_folder_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = toy_archive();
        let sum = format!("{:x}", md5::compute(&bytes));
        std::fs::write(tmp.path().join("toy.tar.gz"), &bytes).unwrap();
        let mut src = toy_source(CLOSED, &sum);
        src.folder = "other".into();
        let err = format!("{:#}", fetch_source(&src, tmp.path()).unwrap_err());
        assert!(err.contains("does not contain the folder other/"), "{err}");
        // Files missing from an unpacked folder are named.
        let mut src = toy_source(CLOSED, &sum);
        src.files.push(("c.bin".into(), 1));
        let err = format!("{:#}", fetch_source(&src, tmp.path()).unwrap_err());
        assert!(err.contains("c.bin"), "{err}");
    }

    #[test]
    fn targets() {
        assert_eq!(
            "cifar10".parse::<FetchTarget>().unwrap(),
            FetchTarget::Cifar10
        );
        assert_eq!(
            "cifar100".parse::<FetchTarget>().unwrap(),
            FetchTarget::Cifar100
        );
        assert!("mnist".parse::<FetchTarget>().is_err());
        let s = FetchTarget::Cifar100.source();
        assert!(s.url.ends_with("/cifar-100-binary.tar.gz"));
        assert_eq!(s.folder, "cifar-100-binary");
        assert_eq!(s.files.len(), 2);
        assert_eq!(FetchTarget::Cifar10.source().files.len(), 6);
        assert_eq!(
            FetchTarget::Cifar10.md5(),
            "c32a1d4ab5d03f1284b67883e8d87530"
        );
    }
}

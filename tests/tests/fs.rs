//! `runtime::fs` against the real file system: whole-file helpers, a
//! `File` moving more than one job's buffer byte-exact, reads, writes and
//! seeks interleaved (also after a read dropped in flight), a background
//! write error surfacing at `flush`, directory listings across batches,
//! and the errors `std` gives, on both schedulers.

use std::collections::BTreeSet;
use std::future::{poll_fn, Future};
use std::io::{ErrorKind, SeekFrom};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use runtime::fs::{self, File, OpenOptions};
use runtime::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use runtime_tests::{assert_bytes_eq, block_on, flavor_tests, pattern, Flavor, TempDir};

/// More than two of a `File`'s 2 MiB jobs, and not a multiple of anything.
const BIG: usize = 5 * 1024 * 1024 + 12_345;

fn whole_file_helpers_round_trip(flavor: Flavor) {
    let dir = TempDir::new("fs-whole");
    block_on(flavor, async {
        let path = dir.join("data");
        let data = pattern(BIG, 1);
        fs::write(&path, &data).await.unwrap();
        assert_bytes_eq(&fs::read(&path).await.unwrap(), &data, "fs::read");
        assert_eq!(fs::metadata(&path).await.unwrap().len(), BIG as u64);
        fs::write(&path, "text, ünïcode").await.unwrap();
        assert_eq!(fs::read_to_string(&path).await.unwrap(), "text, ünïcode");
        fs::write(&path, [0xff, 0xfe]).await.unwrap();
        let err = fs::read_to_string(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    });
}

/// `write_all` through a `File` (several jobs), `flush`, then the bytes on
/// disk; and back through a `File` with reads of odd sizes.
fn file_writes_and_reads_more_than_one_buffer_byte_exact(flavor: Flavor) {
    let dir = TempDir::new("fs-file");
    block_on(flavor, async {
        let path = dir.join("big");
        let data = pattern(BIG, 2);
        let mut file = File::create(&path).await.unwrap();
        file.write_all(&data).await.unwrap();
        file.flush().await.unwrap();
        assert_bytes_eq(&std::fs::read(&path).unwrap(), &data, "written by File");
        drop(file);

        let mut file = File::open(&path).await.unwrap();
        let mut back = Vec::new();
        let mut chunk = vec![0u8; 777_777];
        loop {
            let n = file.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&chunk[..n]);
        }
        assert_bytes_eq(&back, &data, "read by File");
        // End of file stays end of file.
        assert_eq!(file.read(&mut chunk).await.unwrap(), 0);
        let mut all = Vec::new();
        file.rewind().await.unwrap();
        file.read_to_end(&mut all).await.unwrap();
        assert_bytes_eq(&all, &data, "read_to_end after rewind");
    });
}

/// Reads, writes and seeks on one `File` land where `std` would put them.
fn reads_writes_and_seeks_interleave_at_the_right_positions(flavor: Flavor) {
    let dir = TempDir::new("fs-seek");
    block_on(flavor, async {
        let path = dir.join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        let mut three = [0u8; 3];
        file.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"012");
        file.write_all(b"abc").await.unwrap();
        assert_eq!(file.stream_position().await.unwrap(), 6);
        assert_eq!(file.seek(SeekFrom::Current(-2)).await.unwrap(), 4);
        file.read_exact(&mut three).await.unwrap();
        assert_eq!(&three, b"bc6");
        assert_eq!(file.seek(SeekFrom::End(-1)).await.unwrap(), 9);
        file.write_all(b"XY").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"012abc678XY");
    });
}

/// Starts a read of `len` bytes at the start of `file` and drops it while
/// its job runs (retrying, from the start, if the job was done by the
/// first poll), then waits until the job must be over: it read `len`
/// bytes ahead and handed out none.
async fn drop_a_read_in_flight(file: &mut File, len: usize) {
    let mut buf = vec![0u8; len];
    for _ in 0..20 {
        file.rewind().await.unwrap();
        let pending = {
            let mut read = pin!(file.read(&mut buf));
            poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await
        };
        if pending {
            runtime::time::sleep(Duration::from_millis(100)).await;
            return;
        }
    }
    panic!("20 reads of {len} bytes each completed at their first poll");
}

/// A read dropped while its job runs still reads ahead in the background:
/// the write and the `Current` seek after it count from what was handed
/// out (nothing), not from where the job left the file.
fn a_read_dropped_in_flight_does_not_move_the_next_write_or_seek(flavor: Flavor) {
    let dir = TempDir::new("fs-dropped");
    block_on(flavor, async {
        let path = dir.join("f");
        // Large, so that the job is still running at the first poll.
        const LEN: usize = 16 * 1024 * 1024;
        let data = pattern(LEN, 3);
        std::fs::write(&path, &data).unwrap();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .await
            .unwrap();
        file.set_max_buf_size(LEN);

        drop_a_read_in_flight(&mut file, LEN).await;
        file.write_all(b"W").await.unwrap();
        assert_eq!(file.seek(SeekFrom::Current(1)).await.unwrap(), 2);
        let mut eight = [0u8; 8];
        file.read_exact(&mut eight).await.unwrap();
        assert_eq!(eight, data[2..10]);

        // A `Current` seek right after the dropped read.
        drop_a_read_in_flight(&mut file, LEN).await;
        assert_eq!(file.seek(SeekFrom::Current(3)).await.unwrap(), 3);
        let mut one = [0u8; 1];
        file.read_exact(&mut one).await.unwrap();
        assert_eq!(one[0], data[3]);

        // And `into_std` after one: the position of the bytes handed out.
        drop_a_read_in_flight(&mut file, LEN).await;
        let std = file.into_std().await;
        use std::io::Seek;
        assert_eq!((&std).stream_position().unwrap(), 0);
        let mut expected = data;
        expected[0] = b'W';
        assert_bytes_eq(
            &std::fs::read(&path).unwrap(),
            &expected,
            "file after the writes",
        );
    });
}

/// A write to a file opened read-only is accepted by `write` (it runs in
/// the background) and its error comes back from `flush`, once.
fn a_background_write_error_is_reported_by_flush(flavor: Flavor) {
    let dir = TempDir::new("fs-werr");
    block_on(flavor, async {
        let path = dir.join("ro");
        std::fs::write(&path, b"data").unwrap();
        let mut file = File::open(&path).await.unwrap();
        assert_eq!(file.write(b"x").await.unwrap(), 1, "the write is taken");
        let err = file.flush().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        file.flush().await.unwrap();
        // The same error through `sync_all`.
        file.write_all(b"y").await.unwrap();
        let err = file.sync_all().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
    });
}

/// `set_len`, `sync_all`, `metadata`, `try_clone` (one shared position),
/// `into_std` (the position of the bytes handed out).
fn file_methods_act_on_the_open_file(flavor: Flavor) {
    let dir = TempDir::new("fs-methods");
    block_on(flavor, async {
        let path = dir.join("f");
        let mut file = File::create_new(&path).await.unwrap();
        file.write_all(b"0123456789").await.unwrap();
        file.set_len(4).await.unwrap();
        file.sync_all().await.unwrap();
        file.sync_data().await.unwrap();
        assert_eq!(file.metadata().await.unwrap().len(), 4);
        assert_eq!(std::fs::read(&path).unwrap(), b"0123");
        let err = File::create_new(&path).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");

        file.rewind().await.unwrap();
        let mut clone = file.try_clone().await.unwrap();
        let mut two = [0u8; 2];
        clone.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"01");
        // The clone moved the shared position.
        file.read_exact(&mut two).await.unwrap();
        assert_eq!(&two, b"23");

        let mut std = file.into_std().await;
        use std::io::{Read, Seek};
        assert_eq!(std.stream_position().unwrap(), 4);
        std.rewind().unwrap();
        let mut all = String::new();
        std.read_to_string(&mut all).unwrap();
        assert_eq!(all, "0123");
    });
}

/// `read_dir` over more entries than one batch: every name once, with the
/// right types and lengths; then the path helpers.
fn read_dir_lists_every_entry_and_path_helpers_work(flavor: Flavor) {
    let dir = TempDir::new("fs-dir");
    block_on(flavor, async {
        let root = dir.join("root");
        fs::create_dir_all(root.join("sub/deeper")).await.unwrap();
        let mut expected = BTreeSet::new();
        for i in 0..100 {
            let name = format!("file-{i:03}");
            fs::write(root.join(&name), vec![b'x'; i]).await.unwrap();
            expected.insert(name);
        }
        expected.insert("sub".to_string());
        let mut seen = BTreeSet::new();
        let mut entries = fs::read_dir(&root).await.unwrap();
        while let Some(entry) = entries.next_entry().await.unwrap() {
            let name = entry.file_name().into_string().unwrap();
            assert_eq!(entry.path(), root.join(&name));
            let kind = entry.file_type().await.unwrap();
            let meta = entry.metadata().await.unwrap();
            if name == "sub" {
                assert!(kind.is_dir() && meta.is_dir());
            } else {
                let len: u64 = name[5..].parse().unwrap();
                assert!(kind.is_file());
                assert_eq!(meta.len(), len, "{name}");
            }
            assert!(seen.insert(name), "an entry listed twice");
        }
        assert_eq!(seen, expected);
        assert!(entries.next_entry().await.unwrap().is_none());

        let a = root.join("file-010");
        fs::rename(&a, root.join("renamed")).await.unwrap();
        assert!(!fs::try_exists(&a).await.unwrap());
        assert_eq!(fs::copy(root.join("renamed"), &a).await.unwrap(), 10);
        fs::hard_link(&a, root.join("hard")).await.unwrap();
        fs::symlink("renamed", root.join("link")).await.unwrap();
        assert_eq!(
            fs::read_link(root.join("link")).await.unwrap(),
            std::path::Path::new("renamed")
        );
        assert!(fs::symlink_metadata(root.join("link"))
            .await
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            fs::canonicalize(root.join("link")).await.unwrap(),
            std::fs::canonicalize(root.join("renamed")).unwrap()
        );
        let mut perm = fs::metadata(&a).await.unwrap().permissions();
        perm.set_readonly(true);
        fs::set_permissions(&a, perm).await.unwrap();
        assert!(fs::metadata(&a).await.unwrap().permissions().readonly());
        fs::remove_file(root.join("hard")).await.unwrap();
        fs::remove_dir(root.join("sub/deeper")).await.unwrap();
        fs::remove_dir_all(&root).await.unwrap();
        assert!(!fs::try_exists(&root).await.unwrap());
    });
}

/// The errors are `std`'s, as `io::Error`s, never panics.
fn missing_paths_and_wrong_kinds_are_errors(flavor: Flavor) {
    let dir = TempDir::new("fs-errors");
    block_on(flavor, async {
        let missing = dir.join("missing");
        assert_eq!(
            fs::read(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            File::open(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::read_dir(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            fs::remove_file(&missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        fs::write(dir.join("file"), b"").await.unwrap();
        let err = fs::read_dir(dir.join("file")).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTDIR), "{err}");
        let err = fs::create_dir(dir.path()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
        let err = OpenOptions::new().open(dir.join("file")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "no access mode: {err}");
    });
}

flavor_tests!(
    whole_file_helpers_round_trip,
    file_writes_and_reads_more_than_one_buffer_byte_exact,
    reads_writes_and_seeks_interleave_at_the_right_positions,
    a_read_dropped_in_flight_does_not_move_the_next_write_or_seek,
    a_background_write_error_is_reported_by_flush,
    file_methods_act_on_the_open_file,
    read_dir_lists_every_entry_and_path_helpers_work,
    missing_paths_and_wrong_kinds_are_errors,
);

//! tokio's extension methods over real TCP sockets: numbers in both byte
//! orders (`read_u32`, `write_f64_le`, …), `shutdown`, and the line and
//! segment readers (`lines().next_line()`, `split(b',').next_segment()`),
//! with data that arrives a byte at a time, a peer that closes in the
//! middle of a number, and a `next_line` dropped halfway through a line.

use std::io::ErrorKind;
use std::time::Duration;

use futures_util::StreamExt;
use runtime::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use runtime::net::TcpStream;
use runtime_tests::{block_on, connected_pair, flavor_tests, Flavor};

/// Writes `bytes` one at a time, each in its own segment (`TCP_NODELAY`,
/// a pause between them), so that the reader sees many short reads.
async fn trickle(stream: &mut TcpStream, bytes: &[u8]) {
    stream.set_nodelay(true).unwrap();
    for b in bytes {
        stream.write_all(std::slice::from_ref(b)).await.unwrap();
        runtime::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Every number method, written by one side and read back by the other,
/// with values whose bytes differ in each position (a swapped order or a
/// short read shows).
fn numbers_round_trip_in_both_byte_orders(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let writer = runtime::spawn(async move {
            let w = &mut client;
            w.write_u8(0xfe).await.unwrap();
            w.write_i8(-3).await.unwrap();
            w.write_u16(0x0102).await.unwrap();
            w.write_i16(-0x0102).await.unwrap();
            w.write_u32(0x0102_0304).await.unwrap();
            w.write_i32(-0x0102_0304).await.unwrap();
            w.write_u64(0x0102_0304_0506_0708).await.unwrap();
            w.write_i64(-0x0102_0304_0506_0708).await.unwrap();
            w.write_u128(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
                .await
                .unwrap();
            w.write_i128(-0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
                .await
                .unwrap();
            w.write_f32(-1.5e-3).await.unwrap();
            w.write_f64(std::f64::consts::PI).await.unwrap();
            w.write_u16_le(0x0102).await.unwrap();
            w.write_i16_le(-0x0102).await.unwrap();
            w.write_u32_le(0x0102_0304).await.unwrap();
            w.write_i32_le(-0x0102_0304).await.unwrap();
            w.write_u64_le(0x0102_0304_0506_0708).await.unwrap();
            w.write_i64_le(-0x0102_0304_0506_0708).await.unwrap();
            w.write_u128_le(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
                .await
                .unwrap();
            w.write_i128_le(-0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10)
                .await
                .unwrap();
            w.write_f32_le(-1.5e-3).await.unwrap();
            w.write_f64_le(std::f64::consts::E).await.unwrap();
            w.shutdown().await.unwrap();
            client
        });
        let r = &mut server;
        assert_eq!(r.read_u8().await.unwrap(), 0xfe);
        assert_eq!(r.read_i8().await.unwrap(), -3);
        assert_eq!(r.read_u16().await.unwrap(), 0x0102);
        assert_eq!(r.read_i16().await.unwrap(), -0x0102);
        assert_eq!(r.read_u32().await.unwrap(), 0x0102_0304);
        assert_eq!(r.read_i32().await.unwrap(), -0x0102_0304);
        assert_eq!(r.read_u64().await.unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(r.read_i64().await.unwrap(), -0x0102_0304_0506_0708);
        assert_eq!(
            r.read_u128().await.unwrap(),
            0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10
        );
        assert_eq!(
            r.read_i128().await.unwrap(),
            -0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10
        );
        assert_eq!(r.read_f32().await.unwrap(), -1.5e-3);
        assert_eq!(r.read_f64().await.unwrap(), std::f64::consts::PI);
        assert_eq!(r.read_u16_le().await.unwrap(), 0x0102);
        assert_eq!(r.read_i16_le().await.unwrap(), -0x0102);
        assert_eq!(r.read_u32_le().await.unwrap(), 0x0102_0304);
        assert_eq!(r.read_i32_le().await.unwrap(), -0x0102_0304);
        assert_eq!(r.read_u64_le().await.unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(r.read_i64_le().await.unwrap(), -0x0102_0304_0506_0708);
        assert_eq!(
            r.read_u128_le().await.unwrap(),
            0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10
        );
        assert_eq!(
            r.read_i128_le().await.unwrap(),
            -0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10
        );
        assert_eq!(r.read_f32_le().await.unwrap(), -1.5e-3);
        assert_eq!(r.read_f64_le().await.unwrap(), std::f64::consts::E);
        // `shutdown` reached the peer as end of file, after every number.
        let mut rest = Vec::new();
        assert_eq!(r.read_to_end(&mut rest).await.unwrap(), 0);
        drop(writer.await.unwrap());
    });
}

/// The bytes on the wire are the number's, in the order asked for.
fn numbers_are_written_in_network_order_unless_le(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        client.write_u32(0x0102_0304).await.unwrap();
        client.write_u32_le(0x0102_0304).await.unwrap();
        client.write_i16(-2).await.unwrap();
        client.write_f64(1.0).await.unwrap();
        client.shutdown().await.unwrap();
        let mut wire = Vec::new();
        server.read_to_end(&mut wire).await.unwrap();
        let mut expected = vec![1, 2, 3, 4, 4, 3, 2, 1, 0xff, 0xfe];
        expected.extend_from_slice(&1.0f64.to_be_bytes());
        assert_eq!(wire, expected);
    });
}

/// A number whose bytes arrive one per segment is assembled from many
/// reads, not cut short at the first.
fn a_number_sent_a_byte_at_a_time_is_read_whole(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        let value: u64 = 0x8877_6655_4433_2211;
        let writer = runtime::spawn(async move {
            trickle(&mut client, &value.to_be_bytes()).await;
            trickle(&mut client, &(-7i32).to_le_bytes()).await;
            client
        });
        assert_eq!(server.read_u64().await.unwrap(), value);
        assert_eq!(server.read_i32_le().await.unwrap(), -7);
        drop(writer.await.unwrap());
    });
}

/// The peer closing three bytes into a `u32` is an `UnexpectedEof` error,
/// not a number made up of zeros, and not a hang.
fn a_close_in_the_middle_of_a_number_is_unexpected_eof(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, mut server) = connected_pair().await.unwrap();
        client.write_all(&[1, 2, 3]).await.unwrap();
        drop(client);
        let err = server.read_u32().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
        // Nothing at all before the close: the same error for one byte.
        let err = server.read_u8().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
    });
}

/// `lines()` over a socket: `\n` and `\r\n` endings removed, an empty
/// line kept, a last line without an ending returned, then `None` (and
/// `None` again).
fn next_line_splits_on_lf_and_crlf_and_returns_the_last_partial_line(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        client
            .write_all(b"first\r\nsecond\n\n\rnot an ending\r\nlast")
            .await
            .unwrap();
        client.shutdown().await.unwrap();
        let mut lines = BufReader::new(server).lines();
        let mut got = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            got.push(line);
        }
        assert_eq!(got, ["first", "second", "", "\rnot an ending", "last"]);
        assert_eq!(lines.next_line().await.unwrap(), None);
        drop(client);
    });
}

/// Lines whose bytes arrive one per segment, read both ways: with
/// `next_line` and as a `Stream`.
fn lines_sent_a_byte_at_a_time_come_whole_by_next_line_and_as_a_stream(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        let writer = runtime::spawn(async move {
            trickle(&mut client, b"ab\r\ncd\n").await;
            trickle(&mut client, b"ef\ngh").await;
            client.shutdown().await.unwrap();
            client
        });
        let mut lines = BufReader::new(server).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ab"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("cd"));
        let rest: Vec<String> = (&mut lines).map(Result::unwrap).collect().await;
        assert_eq!(rest, ["ef", "gh"]);
        drop(writer.await.unwrap());
    });
}

/// A `next_line` dropped after part of a line has arrived (a timeout
/// around it fires) loses nothing: the next call returns the whole line.
fn next_line_is_cancel_safe(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        client.set_nodelay(true).unwrap();
        let mut lines = BufReader::new(server).lines();
        client.write_all(b"hel").await.unwrap();
        // Give the partial line time to arrive, and the timed-out call
        // time to take it into `lines`.
        let timed_out = runtime::time::timeout(Duration::from_millis(100), lines.next_line()).await;
        assert!(timed_out.is_err(), "a line without its end was returned");
        client.write_all(b"lo\nnext\n").await.unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("hello"));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("next"));
        // The reader goes back out.
        let stream = lines.into_inner().into_inner();
        assert_eq!(stream.peer_addr().unwrap(), client.local_addr().unwrap());
    });
}

/// A line that is not UTF-8 is an `InvalidData` error, and the lines
/// after it are still read.
fn a_line_that_is_not_utf8_is_invalid_data_and_the_next_line_reads(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        client.write_all(b"ok\n\xff\xfe\nafter\n").await.unwrap();
        client.shutdown().await.unwrap();
        let mut lines = BufReader::new(server).lines();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("after"));
        assert_eq!(lines.next_line().await.unwrap(), None);
        drop(client);
    });
}

/// `split(b',')`: segments without the separator, empty ones kept, the
/// last without a separator returned, binary bytes untouched; cancel-safe
/// like `next_line`.
fn next_segment_splits_on_the_byte_and_is_cancel_safe(flavor: Flavor) {
    block_on(flavor, async {
        let (mut client, server) = connected_pair().await.unwrap();
        client.set_nodelay(true).unwrap();
        let mut segments = BufReader::new(server).split(b',');
        client.write_all(b"a,,\xff\n").await.unwrap();
        assert_eq!(segments.next_segment().await.unwrap(), Some(b"a".to_vec()));
        assert_eq!(segments.next_segment().await.unwrap(), Some(Vec::new()));
        let timed_out =
            runtime::time::timeout(Duration::from_millis(100), segments.next_segment()).await;
        assert!(timed_out.is_err(), "a segment without its end was returned");
        client.write_all(b"\r,tail").await.unwrap();
        client.shutdown().await.unwrap();
        assert_eq!(
            segments.next_segment().await.unwrap(),
            Some(b"\xff\n\r".to_vec())
        );
        assert_eq!(
            segments.next_segment().await.unwrap(),
            Some(b"tail".to_vec())
        );
        assert_eq!(segments.next_segment().await.unwrap(), None);
    });
}

/// `BufStream` holds small writes until `flush` (the peer sees nothing
/// before it), then delivers them byte-exact, and reads lines from its
/// own buffer.
fn buf_stream_holds_writes_until_flush_and_reads_lines(flavor: Flavor) {
    use runtime::io::BufStream;
    block_on(flavor, async {
        let (client, mut server) = connected_pair().await.unwrap();
        let mut client = BufStream::new(client);
        for i in 0..100 {
            client
                .write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        runtime::time::sleep(Duration::from_millis(20)).await;
        let mut probe = [0u8; 1];
        let early = server.try_read(&mut probe);
        assert_eq!(
            early.map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock),
            "a buffered write reached the peer before flush"
        );
        client.flush().await.unwrap();
        let mut lines = BufReader::new(&mut server).lines();
        for i in 0..100 {
            assert_eq!(lines.next_line().await.unwrap(), Some(format!("line {i}")));
        }
        server.write_all(b"reply one\nreply two\n").await.unwrap();
        let mut line = String::new();
        client.read_line(&mut line).await.unwrap();
        assert_eq!(line, "reply one\n");
        line.clear();
        client.read_line(&mut line).await.unwrap();
        assert_eq!(line, "reply two\n");
    });
}

/// `join` of one connection's reader and another's writer reads from the
/// first and writes to the second.
fn join_reads_from_one_stream_and_writes_to_another(flavor: Flavor) {
    use runtime::io::join;
    block_on(flavor, async {
        let (mut feed, from_feed) = connected_pair().await.unwrap();
        let (to_sink, mut sink) = connected_pair().await.unwrap();
        let mut both = join(from_feed, to_sink);
        feed.write_all(b"into the reader").await.unwrap();
        let mut buf = [0u8; 15];
        both.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"into the reader");
        both.write_all(b"out of the writer").await.unwrap();
        both.shutdown().await.unwrap();
        let mut out = Vec::new();
        sink.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"out of the writer");
        let (_reader, _writer) = both.into_inner();
    });
}

flavor_tests!(
    buf_stream_holds_writes_until_flush_and_reads_lines,
    join_reads_from_one_stream_and_writes_to_another,
    numbers_round_trip_in_both_byte_orders,
    numbers_are_written_in_network_order_unless_le,
    a_number_sent_a_byte_at_a_time_is_read_whole,
    a_close_in_the_middle_of_a_number_is_unexpected_eof,
    next_line_splits_on_lf_and_crlf_and_returns_the_last_partial_line,
    lines_sent_a_byte_at_a_time_come_whole_by_next_line_and_as_a_stream,
    next_line_is_cancel_safe,
    a_line_that_is_not_utf8_is_invalid_data_and_the_next_line_reads,
    next_segment_splits_on_the_byte_and_is_cancel_safe,
);

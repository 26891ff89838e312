use super::*;

async fn answer(response: &[u8], head_only: bool, max: Option<u64>) -> Result<Answer, Error> {
    let (mut client, mut server) = tokio::io::duplex(1 << 16);
    let response = response.to_vec();
    let peer = tokio::spawn(async move {
        let mut req = vec![0u8; 1024];
        let _ = server.read(&mut req).await;
        // Dribbled a few bytes at a time: every partial state is met.
        for part in response.chunks(7) {
            server.write_all(part).await.unwrap();
            tokio::task::yield_now().await;
        }
    });
    let mut buf = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    let n = buf.len();
    let out = exchange(&mut client, &mut buf, n, head_only, max).await;
    peer.await.unwrap();
    out
}

#[tokio::test]
async fn content_length_chunked_and_close_delimited_bodies() {
    let a = answer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (a.status.as_u16(), &a.body[..], a.keep_alive),
        (200, &b"hello"[..], true)
    );
    let map = a.head.header_map();
    assert_eq!((map["x-a"].as_bytes(), map.len()), (&b"b"[..], 2));

    let a = answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!((&a.body[..], a.keep_alive), (&b"hello, world"[..], true));

    let a = answer(b"HTTP/1.0 200 OK\r\n\r\nuntil the end", false, None)
        .await
        .unwrap();
    assert_eq!((&a.body[..], a.keep_alive), (&b"until the end"[..], false));

    let a = answer(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        false,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (a.status.as_u16(), a.body.len(), a.keep_alive),
        (204, 0, false)
    );

    let a = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, None)
        .await
        .unwrap();
    assert_eq!((a.body.len(), a.keep_alive), (0, true));
}

#[tokio::test]
async fn bad_and_short_answers_are_errors() {
    let e = answer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        false,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Body(m) if m.contains("after 5 of 10")),
        "{e:?}"
    );
    let e = answer(b"", false, None).await.unwrap_err();
    assert!(e.stale(), "{e:?}");
    let e = answer(b"HTTP/1.1 200 OK\r\nContent-Le", false, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Head(m) if m.contains("mid-head")),
        "{e:?}"
    );
    let e = answer(b"SSH-2.0-OpenSSH\r\n\r\n", false, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Head(m) if m.contains("not an HTTP/1.x")),
        "{e:?}"
    );
    let e = answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        false,
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Body(m) if m.contains("chunk size")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let e = answer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        false,
        Some(10),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Body(m) if m.contains("limit of 10 bytes")),
        "{e:?}"
    );
    let e = answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
        false,
        Some(10),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, Error::Body(m) if m.contains("limit of 10 bytes")),
        "{e:?}"
    );
    let ok = answer(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhelloworld",
        false,
        Some(10),
    )
    .await
    .unwrap();
    assert_eq!(ok.body.len(), 10);
}

#[test]
fn requests_carry_host_defaults_cookies_and_a_length() {
    let mut defaults = HeaderMap::new();
    defaults.insert("x-default", HeaderValue::from_static("d"));
    defaults.insert("x-both", HeaderValue::from_static("default"));
    let mut own = HeaderMap::new();
    own.insert("x-both", HeaderValue::from_static("own"));
    own.insert(CONTENT_LENGTH, HeaderValue::from_static("999"));
    let extra = Extra {
        defaults: &defaults,
        cookie: Some(HeaderValue::from_static("a=1")),
        host: "127.0.0.1:8080",
    };
    let mut out = Vec::new();
    write_request(&mut out, &Method::POST, "/p?q=1", &own, &extra, b"body");
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("POST /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n"),
        "{text}"
    );
    for line in [
        "x-both: own",
        "x-default: d",
        "cookie: a=1",
        "user-agent: swarm/",
        "accept: */*",
        "content-length: 4",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(
        !text.contains("default\r\n") && !text.contains("999"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nbody"), "{text}");
}

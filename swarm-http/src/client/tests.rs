use super::*;

#[test]
fn cached_urls_are_the_parsed_ones() {
    let a: Arc<str> = Arc::from("http://127.0.0.1:8089");
    let b: Arc<str> = Arc::from("http://127.0.0.1:9000/api");
    let cases = [
        (Some(&a), "/x?q=1"),
        (Some(&a), "x y"),
        (Some(&b), "/x?q=1"),
        (Some(&b), "http://other.test/z"),
        (None, "http://other.test/z"),
    ];
    for round in 0..3 {
        for (base, path) in cases {
            let want = Url::parse(&join(base.map(|b| &**b), path)).unwrap();
            assert_eq!(
                cached_url(base, path),
                Some(want),
                "{round} {base:?} {path}"
            );
        }
    }
    assert_eq!(cached_url(None, "/relative"), None);
    // Past its size, the cache replaces entries and stays right.
    for i in 0..3 * URL_CACHE_SIZE {
        let path = format!("/p/{}", i % (URL_CACHE_SIZE + 3));
        let want = Url::parse(&format!("http://127.0.0.1:8089{path}")).unwrap();
        assert_eq!(cached_url(Some(&a), &path), Some(want));
    }
    URLS.with(|c| assert_eq!(c.borrow().entries.len(), URL_CACHE_SIZE));
}

#[test]
fn cookies_are_kept_and_sent_back() {
    let jar = Cookies::default();
    let url = Url::parse("http://127.0.0.1:8089/login").unwrap();
    assert!(jar.header_for(&url).is_none());
    let set = [
        HeaderValue::from_static("session=abc; Path=/"),
        HeaderValue::from_static("theme=dark"),
        HeaderValue::from_static("=nameless"),
    ];
    jar.store(set.iter(), &url);
    let header = jar.header_for(&url).unwrap();
    let mut pairs: Vec<&str> = header.to_str().unwrap().split("; ").collect();
    pairs.sort_unstable();
    assert_eq!(pairs, ["session=abc", "theme=dark"]);
    let elsewhere = Url::parse("http://127.0.0.2:8089/").unwrap();
    assert!(jar.header_for(&elsewhere).is_none());
}

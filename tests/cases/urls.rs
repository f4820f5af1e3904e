//! URLs as fetch reads them, credentials, masking and escaping, registries' layouts.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::auth::{base64, resolve, AuthError, Given};
use pypublish::mask::{escape_block, escape_line, Secrets, MASK};
use pypublish::registry::{detect, index_for, project_page, Registry};
use pypublish::simple::{find, project_url, Existing};
use pypublish::url::{redact, Url};

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn urls_are_parsed_the_whatwg_way_as_fetch_parses_them() {
    // `\` is `/` in special schemes: the host is 127.0.0.2, not 127.0.0.1.
    let (u, info) = Url::parse_with_userinfo("http://127.0.0.2:9\\@127.0.0.1:8/legacy/").unwrap();
    assert_eq!(u.host(), "127.0.0.2");
    assert!(info.is_none());
    // Any number of slashes after a special scheme: `https:///host/` is https://host/.
    assert_eq!(url("https:///host/x").as_str(), "https://host/x");
    assert!(url("https://H:443/y").same_origin(&url("https://h/x")));
    assert!(!url("http://h:8080/").same_origin(&url("http://h:8081/")));
    assert!(!url("http://h/").same_origin(&url("https://h/")));
    assert!(matches!(Url::parse("ftp://x/"), Err(pypublish::url::UrlError::Scheme { .. })));
}

#[test]
fn relative_locations_resolve_against_the_url_they_answered() {
    let base = url("https://h/a/b");
    assert_eq!(base.join("c/").unwrap().0.as_str(), "https://h/a/c/");
    assert_eq!(base.join("//g/x").unwrap().0.as_str(), "https://g/x");
    assert_eq!(base.join("/legacy/").unwrap().0.as_str(), "https://h/legacy/");
    let (to, had_userinfo) = base.join("https://u:p@h/x").unwrap();
    assert!(had_userinfo && to.as_str() == "https://h/x");
    assert!(base.join("javascript:alert(1)").is_err());
}

#[test]
fn credentials_leave_the_url_and_never_reach_a_message() {
    let (u, info) = Url::parse_with_userinfo("https://me:p%40ss@upload.pypi.org/legacy/").unwrap();
    assert_eq!(u.as_str(), "https://upload.pypi.org/legacy/");
    let info = info.unwrap();
    assert_eq!((info.username.as_str(), info.password.as_deref()), ("me", Some("p@ss")));
    assert!(!format!("{info:?}").contains("p@ss"));
    // WHATWG takes the last `@` before the host: the password holds an `@`.
    assert_eq!(redact("https://u:p@ss@host/x"), "https://host/x");
    // One slash is enough for a special scheme: the password is still userinfo.
    let (u, info) = Url::parse_with_userinfo("https:/u:pw@host/").unwrap();
    assert_eq!((u.host(), info.unwrap().password.as_deref()), ("host", Some("pw")));
    for bad in ["https://u:secret@[::1/", "http://u:secret@exa mple.com/", "https://u:secret@:80/"] {
        let e = Url::parse(bad).unwrap_err().to_string();
        assert!(!e.contains("secret"), "{bad}: {e}");
        assert!(!redact(bad).contains("secret"), "{bad}");
    }
}

#[test]
fn credentials_move_into_the_header_with_the_username_the_registry_wants() {
    let g = |u: &str| Given { url: u.into(), ..Given::default() };
    let r = resolve(&g("https://me:p%40ss@upload.pypi.org/legacy/")).unwrap();
    assert_eq!(r.url.as_str(), "https://upload.pypi.org/legacy/");
    assert_eq!(r.authorization().unwrap(), format!("Basic {}", base64(b"me:p@ss")));
    assert!(!format!("{r:?}").contains("p@ss"));
    let mut t = g("https://upload.pypi.org/legacy/");
    t.token = Some("pypi-abc".into());
    assert_eq!(resolve(&t).unwrap().username.as_deref(), Some("__token__"));
    t.url = "https://acme.jfrog.io/artifactory/api/pypi/local".into();
    assert_eq!(resolve(&t).unwrap().username.as_deref(), Some(""), "Artifactory tokens want an empty user");
    t.password = Some("x".into());
    assert_eq!(resolve(&t).unwrap_err(), AuthError::TokenAndPassword);
    assert!(matches!(resolve(&g("ftp://x/")), Err(AuthError::BadUrl(_))));
    for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")] {
        assert_eq!(base64(i.as_bytes()), o, "RFC 4648 vectors");
    }
}

#[test]
fn secrets_are_masked_at_any_length_in_every_form() {
    for pw in ["p", "pw", "p@s", "hunter22", "a b&c\"d"] {
        let mut s = Secrets::new();
        s.add_basic("alice", pw);
        let header = base64(format!("alice:{pw}").as_bytes());
        let json = serde_json::to_string(pw).unwrap();
        let text = format!("pw={pw} basic={header} json={json} url=https://alice:{}@h/", pw.replace('@', "%40").replace(' ', "%20").replace('"', "%22"));
        let masked = s.mask(&text);
        assert!(!masked.contains(&header), "{pw}: {masked}");
        if pw.len() > 2 {
            assert!(!masked.contains(pw), "{pw}: {masked}");
        }
        assert!(masked.contains(MASK));
    }
}

#[test]
fn the_userinfo_of_any_url_in_text_is_masked() {
    use pypublish::mask::mask_userinfo;
    assert_eq!(mask_userinfo("location: http://evil:Rd1rectPw@127.0.0.2:9/x"), "location: http://********@127.0.0.2:9/x");
    assert_eq!(mask_userinfo("see <https://u:p@ss@h/a> and ftp://x@y z"), "see <https://********@h/a> and ftp://********@y z");
    assert_eq!(mask_userinfo("mail me@example.com at https://h/p?x=a@b"), "mail me@example.com at https://h/p?x=a@b");
    assert_eq!(Secrets::new().clean("go to http://a:b@h/"), "go to http://********@h/");
}

#[test]
fn control_characters_are_escaped_so_a_reply_cannot_drive_the_terminal() {
    let evil = "ok\u{1b}[2J\u{7}\rback\u{8}\u{9b}31m\u{202e}txt\nuploaded  fake.whl";
    let line = escape_line(evil);
    assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
    assert!(!line.contains('\u{202e}'));
    assert_eq!(line, "ok\\u{1b}[2J\\u{7}\\rback\\u{8}\\u{9b}31m\\u{202e}txt\\nuploaded  fake.whl");
    let block = escape_block("line one\r\nline\ttwo\u{1b}]0;title\u{7}\n");
    assert_eq!(block, "line one\nline\ttwo\\u{1b}]0;title\\u{7}\n");
}

#[test]
fn each_registry_is_known_by_its_documented_url() {
    for (u, reg) in [
        ("https://upload.pypi.org/legacy/", Registry::Pypi),
        ("https://test.pypi.org/legacy/", Registry::TestPypi),
        ("https://gitlab.example.com/api/v4/projects/42/packages/pypi", Registry::GitLab),
        ("https://acme.jfrog.io/artifactory/api/pypi/pypi-local", Registry::Artifactory),
        ("https://dom-111122223333.d.codeartifact.us-east-1.amazonaws.com/pypi/repo/", Registry::CodeArtifact),
        ("https://pkgs.dev.azure.com/org/proj/_packaging/feed/pypi/upload/", Registry::Azure),
        ("https://europe-west1-python.pkg.dev/proj/repo/", Registry::GoogleAr),
        ("https://gitea.example.com/api/packages/owner/pypi", Registry::Gitea),
        ("https://python.cloudsmith.io/owner/repo/", Registry::Cloudsmith),
        ("https://nexus.example.com/repository/pypi-hosted/", Registry::Nexus),
        ("http://127.0.0.1:8080/", Registry::Unknown),
    ] {
        assert_eq!(detect(&url(u)), reg, "{u}");
    }
}

#[test]
fn registries_layouts_give_the_index_and_the_project_page() {
    let idx = |u: &str| index_for(&url(u), detect(&url(u))).map(|u| u.to_string());
    assert_eq!(idx("https://upload.pypi.org/legacy/").as_deref(), Some("https://pypi.org/simple/"));
    assert_eq!(
        idx("https://gitlab.example.com/api/v4/projects/42/packages/pypi").as_deref(),
        Some("https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple/")
    );
    assert_eq!(idx("https://pkgs.dev.azure.com/o/p/_packaging/f/pypi/upload/").as_deref(), Some("https://pkgs.dev.azure.com/o/p/_packaging/f/pypi/simple/"));
    assert_eq!(idx("http://127.0.0.1:8080/"), None);
    assert_eq!(index_for(&url("http://127.0.0.1:8080/"), Registry::Pypiserver).unwrap().as_str(), "http://127.0.0.1:8080/simple/");
    assert_eq!(index_for(&url("http://127.0.0.1:3141/alice/dev/"), Registry::Devpi).unwrap().as_str(), "http://127.0.0.1:3141/alice/dev/+simple/");
    assert_eq!(project_url(&url("https://pypi.org/simple/"), "demo").as_str(), "https://pypi.org/simple/demo/");
    let page = |u: &str| project_page(&url(u), detect(&url(u)), "pp-demo", "1.0");
    assert_eq!(page("https://upload.pypi.org/legacy/").as_deref(), Some("https://pypi.org/project/pp-demo/1.0/"));
    assert_eq!(page("https://test.pypi.org/legacy/").as_deref(), Some("https://test.pypi.org/project/pp-demo/1.0/"));
    assert_eq!(
        page("https://tok:secret@gitlab.example.com/api/v4/projects/grp%2Fsub%2Fapp/packages/pypi").as_deref(),
        Some("https://gitlab.example.com/grp/sub/app/-/packages")
    );
    assert_eq!(page("https://git.example.com/gitlab/api/v4/projects/42/packages/pypi").as_deref(), Some("https://git.example.com/gitlab/projects/42"));
    assert_eq!(page("http://127.0.0.1:8080/"), None);
}

#[test]
fn simple_index_pages_are_read_in_json_and_html_and_garbage_is_not_absence() {
    let json = br#"{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"x","hashes":{"sha256":"ABC"}}]}"#;
    let ct = "application/vnd.pypi.simple.v1+json";
    assert_eq!(find(json, ct, "demo-1.0.tar.gz"), Ok(Existing::Present { sha256: Some("abc".into()) }));
    assert_eq!(find(json, ct, "demo-1.1.tar.gz"), Ok(Existing::Absent));
    let html = br#"<html><body><a href="../../packages/demo%2B1-1.0.tar.gz#sha256=def">demo+1-1.0.tar.gz</a><br>
        <a href='/p/demo-1.0-py3-none-any.whl'>demo-1.0-py3-none-any.whl</a></body></html>"#;
    assert_eq!(find(html, "text/html", "demo+1-1.0.tar.gz"), Ok(Existing::Present { sha256: Some("def".into()) }));
    assert_eq!(find(html, "text/html", "demo-1.0-py3-none-any.whl"), Ok(Existing::Present { sha256: None }));
    assert_eq!(find(html, "text/html", "other-1.0.tar.gz"), Ok(Existing::Absent));
    assert!(find(b"{broken", ct, "x").is_err());
    assert!(find(br#"{"name": "demo"}"#, ct, "x").is_err(), "a JSON page without files is not an empty project");
    assert!(find(b"\x00\x01binary", "application/octet-stream", "x").is_err());
}

#[test]
fn a_page_of_unterminated_hrefs_is_read_in_linear_time() {
    // Each `href=` used to be scanned to the end of the page: 400 KB took minutes.
    let page = "<a href=\"x".repeat(200_000);
    assert_eq!(find(page.as_bytes(), "text/html", "demo-1.0.tar.gz"), Ok(Existing::Absent));
    let bare = "href=".repeat(200_000);
    assert_eq!(find(bare.as_bytes(), "text/html", "demo-1.0.tar.gz"), Ok(Existing::Absent));
}

#[test]
fn an_internationalised_host_is_refused_with_the_punycode_way_out() {
    // The package carries no IDNA mapping tables: a non-ASCII host would otherwise reach fetch
    // spelled differently from what we compared. Its punycode form works.
    let e = Url::parse("https://bücher.example/legacy/").unwrap_err().to_string();
    assert!(e.contains("punycode"), "{e}");
    assert_eq!(url("https://xn--bcher-kva.example/legacy/").host(), "xn--bcher-kva.example");
}

//! The batch engine's decisions, driven through the simulated registry and network.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::batch::{Trailing, MAX_READING};
use pypublish::digest::digest_bytes;
use pypublish::http::NoReply;
use pypublish::report::{Kind, Status};

use super::sim::*;

const REG: &str = "http://127.0.0.1:8080";
const CANARY: &str = "canary-pw-7f3a";

fn opts() -> pypublish::batch::Options {
    let mut o = options(&format!("{REG}/"));
    o.username = Some("alice".into());
    o.password = Some(CANARY.into());
    o
}

fn ok_registry() -> impl FnMut(&Seen, &mut Store) -> Answer {
    registry(|name, _, _| reply(409, &[], &format!("Package '{name}' already exists! You may start server with --overwrite option.")))
}

#[test]
fn a_batch_is_uploaded_wheels_first_each_file_once() {
    let dists = [sdist("demo", "1.0"), wheel("demo", "1.0")];
    let run = run(opts(), vec![], &dists, Net::new().serve(REG, ok_registry()));
    let posts = run.net.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(filename_of(posts[0]), "demo-1.0-py3-none-any.whl", "wheels go first");
    assert_eq!(pypublish::batch::send_order(&[&dists[0].name, &dists[1].name]), [1, 0], "the order the shells are told");
    for d in &dists {
        let r = run.report(&d.name);
        assert_eq!((r.status, r.attempts), (Status::Uploaded, 1), "{r:?}");
        assert_eq!(r.sha256.as_deref(), Some(digest_bytes(&d.bytes).sha256.as_str()));
        assert_eq!(run.net.store.files[&d.name], d.bytes, "the registry stored the same bytes");
    }
    let sent = posts[0];
    assert_eq!(sent.field("sha256_digest").unwrap(), digest_bytes(&dists[1].bytes).sha256);
    assert!(sent.header("authorization").unwrap().starts_with("Basic "));
    assert_eq!(run.hashed, 2);
}

#[test]
fn a_broken_file_stops_the_batch_before_anything_is_sent() {
    let mut renamed = wheel("demo", "1.0");
    renamed.name = "other-1.0-py3-none-any.whl".into();
    let dists = [wheel("demo", "1.0"), renamed, sdist("demo", "1.0")];
    let run = run(opts(), vec![], &dists, Net::new().serve(REG, ok_registry()));
    assert!(run.net.seen.is_empty(), "nothing may be sent: {:?}", run.net.seen.len());
    assert_eq!(run.hashed, 0, "nothing is even hashed");
    assert_eq!(run.report("other-1.0-py3-none-any.whl").kind, Some(Kind::Archive));
    for name in ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"] {
        let r = run.report(name);
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::NotSent)));
        assert!(r.error.as_deref().unwrap().contains("other-1.0-py3-none-any.whl"));
    }
}

#[test]
fn two_503s_then_success_is_one_upload_after_three_attempts() {
    let mut n = 0;
    let mut store = ok_registry();
    let net = Net::new().serve(REG, move |seen, st| {
        n += 1;
        if n <= 2 {
            reply(503, &[], "busy")
        } else {
            store(seen, st)
        }
    });
    let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
    let r = &run.reports[0];
    assert_eq!((r.status, r.attempts), (Status::Uploaded, 3));
    assert_eq!(run.net.waits.len(), 2);
    assert!(run.net.waits[1] >= 1000 && run.net.waits[1] < 2000, "exponential back-off: {:?}", run.net.waits);
    assert_eq!(run.net.store.files.len(), 1);
}

#[test]
fn retry_after_is_honoured_as_seconds_and_as_an_http_date() {
    for (value, want) in [("7", 7000), ("Sun, 06 Nov 1994 08:49:44 GMT", 7000), ("Sunday, 06-Nov-94 08:49:40 GMT", 3000), ("Sun Nov  6 08:49:39 1994", 2000)] {
        let mut first = true;
        let mut store = ok_registry();
        let net = Net::new().serve(REG, move |seen, st| {
            if std::mem::take(&mut first) {
                reply(429, &[("Retry-After", value), ("Date", "Sun, 06 Nov 1994 08:49:37 GMT")], "slow down")
            } else {
                store(seen, st)
            }
        });
        let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
        assert_eq!(run.net.waits, vec![want], "Retry-After: {value}");
        assert_eq!(run.reports[0].status, Status::Uploaded);
    }
}

#[test]
fn network_errors_are_retried_then_reported_with_the_url_but_no_credentials() {
    let mut o = opts();
    o.repository_url = Some(format!("http://alice:{CANARY}@127.0.0.1:9/"));
    o.password = None;
    o.retries = Some(1.0);
    let run = run(o, vec![], &[wheel("demo", "1.0")], Net::new());
    let r = &run.reports[0];
    assert_eq!((r.status, r.kind, r.attempts, r.retryable), (Status::Failed, Some(Kind::Network), 2, true));
    assert!(r.hint.as_deref().unwrap().contains("http://127.0.0.1:9/"));
    assert!(!format!("{r:?}").contains(CANARY));
}

#[test]
fn a_same_origin_308_is_followed_and_the_file_stored_once() {
    let mut store = ok_registry();
    let net = Net::new().serve(REG, move |seen, st| if seen.url.ends_with("/legacy") { reply(308, &[("Location", "/legacy/")], "") } else { store(seen, st) });
    let run = run(options(&format!("{REG}/legacy")), vec![], &[wheel("demo", "1.0")], net);
    assert_eq!((run.reports[0].status, run.reports[0].attempts), (Status::Uploaded, 1));
    assert_eq!(run.net.posts().len(), 2);
    assert_eq!(run.net.posts()[1].url, format!("{REG}/legacy/"));
}

#[test]
fn a_redirect_to_another_host_is_never_followed_whatever_its_spelling() {
    // WHATWG URL parsing (fetch's) reads `\` as `/`: this Location's host is 127.0.0.2.
    for location in
        ["http://127.0.0.2:8080\\@127.0.0.1:8080/legacy/", "//127.0.0.2:8080/legacy/", "http://127.0.0.1:8081/legacy/", "https://127.0.0.1:8080/legacy/"]
    {
        let net = Net::new().serve(REG, move |_, _| reply(307, &[("Location", location)], "")).serve("http://127.0.0.2:8080", |_, _| reply(200, &[], ""));
        let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
        let r = &run.reports[0];
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Redirect)), "{location}: {r:?}");
        assert!(r.hint.as_deref().unwrap().contains("another origin"), "{location}: {:?}", r.hint);
        assert_eq!(run.net.seen.len(), 1, "{location}: nothing may reach another origin");
    }
}

#[test]
fn a_redirect_loop_is_reported_as_a_loop() {
    let net = Net::new().serve(REG, |seen, _| {
        let to = if seen.url.ends_with("/a/") { "/b/" } else { "/a/" };
        reply(307, &[("Location", to)], "")
    });
    let run = run(options(&format!("{REG}/a/")), vec![], &[wheel("demo", "1.0")], net);
    let hint = run.reports[0].hint.clone().unwrap();
    assert!(hint.contains("redirect loop"), "{hint}");
    assert_eq!(run.net.seen.len(), 2);
}

#[test]
fn pypi_conflicts_are_told_apart_by_the_blake2_hash() {
    let w = wheel("demo", "1.0");
    let ours = digest_bytes(&w.bytes).blake2_256;
    let pypi = |hash: String| {
        move |_: &Seen, _: &mut Store| {
            let body = format!("{{\"code\": \"400 File already exists ('demo-1.0-py3-none-any.whl', with blake2_256 hash '{hash}'). See https://pypi.org/help/#file-name-reuse for more information.\"}}");
            reply(400, &[("Content-Type", "application/json")], &body)
        }
    };
    let up = "https://upload.pypi.org";
    let mut o = options("https://upload.pypi.org/legacy/");
    o.token = Some("pypi-AgEIcHlwaS5vcmc".into());
    o.trusted_publishing = Some("never".into());
    let run1 = run(o.clone(), vec![], std::slice::from_ref(&w), Net::new().serve(up, pypi(ours.clone())));
    assert_eq!((run1.reports[0].status, run1.reports[0].verified), (Status::Skipped, Some(true)));
    let run2 = run(o.clone(), vec![], std::slice::from_ref(&w), Net::new().serve(up, pypi("1".repeat(64))));
    assert_eq!((run2.reports[0].status, run2.reports[0].kind), (Status::Failed, Some(Kind::Conflict)));
    // Our first attempt stored the file but its reply was lost: the conflict with our own hash is success.
    let mut n = 0;
    let conflict = pypi(ours);
    let net = Net::new().serve(up, move |s, st| {
        n += 1;
        if n == 1 {
            Answer::NoReply(NoReply::Network("connection reset".into()))
        } else {
            conflict(s, st)
        }
    });
    let run3 = run(o, vec![], &[w], net);
    assert_eq!((run3.reports[0].status, run3.reports[0].attempts), (Status::Uploaded, 2));
}

/// A registry whose first `times` uploads end with `why` instead of a reply; then it takes them.
fn no_reply_then_ok(times: u32, why: NoReply) -> Net {
    let mut n = 0;
    Net::new().serve(REG, move |_: &Seen, _: &mut Store| {
        n += 1;
        if n <= times {
            Answer::NoReply(why.clone())
        } else {
            reply(200, &[], "OK")
        }
    })
}

#[test]
fn a_hasher_that_failed_beside_the_body_is_retried_unlike_a_changed_source() {
    let w = wheel("demo", "1.0");
    let failing = |times| no_reply_then_ok(times, NoReply::Hasher("the hashing beside the upload failed: the hashing thread ended (exit code 1)".into()));
    let r = run(opts(), vec![], std::slice::from_ref(&w), failing(1)).reports.remove(0);
    assert_eq!((r.status, r.attempts), (Status::Uploaded, 2), "{r:?}");
    let r = run(opts(), vec![], std::slice::from_ref(&w), failing(99)).reports.remove(0);
    assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Other)), "{r:?}");
    assert!(r.error.as_deref().unwrap().contains("the hashing thread ended"), "{r:?}");
    assert!(r.hint.as_deref().unwrap().contains("the hashing beside the upload failed 4 times"), "{r:?}");
    let changed = Net::new().serve(REG, |_: &Seen, _: &mut Store| Answer::NoReply(NoReply::Source("the bytes sent differ from those hashed".into())));
    let r = run(opts(), vec![], &[w], changed).reports.remove(0);
    assert_eq!((r.status, r.kind, r.attempts), (Status::Failed, Some(Kind::Source), 1), "{r:?}");
}

#[test]
fn a_source_unreadable_while_sent_is_read_again_and_named_when_it_stays_so() {
    // A download cut by its host half way, unlike a file that changed, may read whole next time.
    let w = wheel("demo", "1.0");
    let failing = |times| no_reply_then_ok(times, NoReply::Unread("the file could not be read while sending: terminated".into()));
    let r = run(opts(), vec![], std::slice::from_ref(&w), failing(1)).reports.remove(0);
    assert_eq!((r.status, r.attempts), (Status::Uploaded, 2), "{r:?}");
    let r = run(opts(), vec![], &[w], failing(99)).reports.remove(0);
    assert_eq!((r.status, r.kind, r.retryable, r.attempts), (Status::Failed, Some(Kind::Source), true, 4), "{r:?}");
    assert!(r.error.as_deref().unwrap().contains("terminated"), "{r:?}");
    assert!(r.hint.as_deref().unwrap().contains("reading the file failed 4 times"), "{r:?}");
}

#[test]
fn a_hashing_read_cut_half_way_is_made_again_after_a_back_off_and_stops_the_batch_only_when_it_stays_cut() {
    // All or nothing (sources read anew each time): the file not sent first is hashed before anything is sent.
    let changeable = |f: &mut Vec<pypublish::batch::FileSpec>| f.iter_mut().for_each(|s| s.changeable = true);
    let batch = |cuts| [wheel("demo", "1.0"), Dist { hash_cuts: cuts, ..sdist("demo", "1.0") }];
    let run1 = run_with(opts(), vec![], &batch(2), Net::new().serve(REG, ok_registry()), CancelAt::Never, changeable);
    assert_eq!(run1.reports.iter().map(|r| r.status).collect::<Vec<_>>(), [Status::Uploaded, Status::Uploaded], "{:?}", run1.reports);
    assert_eq!(run1.net.waits.len(), 2, "two back-offs: {:?}", run1.net.waits);
    assert!(run1.net.waits[1] > run1.net.waits[0] / 2 && run1.net.waits[0] > 0, "{:?}", run1.net.waits);
    // Cut as often as an upload may be tried (retries 3: 4 times): the batch sends nothing.
    let run2 = run_with(opts(), vec![], &batch(4), Net::new().serve(REG, ok_registry()), CancelAt::Never, changeable);
    assert!(run2.net.posts().is_empty(), "nothing sent");
    let sd = run2.report("demo-1.0.tar.gz");
    assert_eq!((sd.status, sd.kind), (Status::Failed, Some(Kind::Source)), "{sd:?}");
    assert!(sd.error.as_deref().unwrap().contains("terminated"), "{sd:?}");
    assert_eq!(run2.net.waits.len(), 3);
}

#[test]
fn digests_given_in_uppercase_are_the_same_digests_and_malformed_ones_send_nothing() {
    let w = wheel("demo", "1.0");
    let d = digest_bytes(&w.bytes);
    let mut o = opts();
    o.check_url = Some(format!("{REG}/simple/"));
    let page = format!("{{\"files\": [{{\"filename\": \"demo-1.0-py3-none-any.whl\", \"hashes\": {{\"sha256\": \"{}\"}}}}]}}", d.sha256);
    let index = move |_: &Seen, _: &mut Store| reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], &page);
    let upper =
        pypublish::digest::DigestSet { sha256: d.sha256.to_uppercase(), md5: d.md5.to_uppercase(), blake2_256: d.blake2_256.to_uppercase(), len: d.len };
    let given = upper.clone();
    let run1 = run_with(o.clone(), vec![], std::slice::from_ref(&w), Net::new().serve(REG, index.clone()), CancelAt::Never, move |f| {
        f[0].digests = Some(given.clone())
    });
    let r = &run1.reports[0];
    assert_eq!((r.status, r.verified, r.sha256.as_deref()), (Status::Skipped, Some(true), Some(d.sha256.as_str())), "{r:?}");
    let bad = pypublish::digest::DigestSet { md5: "z".repeat(32), ..upper };
    let run2 = run_with(o, vec![], &[w], Net::new().serve(REG, index), CancelAt::Never, move |f| f[0].digests = Some(bad.clone()));
    assert_eq!((run2.reports[0].status, run2.reports[0].kind), (Status::Failed, Some(Kind::Input)), "{:?}", run2.reports[0]);
    assert!(run2.net.seen.is_empty(), "nothing was asked of the registry");
}

#[test]
fn the_index_is_asked_again_after_its_own_retry_after() {
    let w = wheel("demo", "1.0");
    let sha = digest_bytes(&w.bytes).sha256;
    let mut o = opts();
    o.check_url = Some(format!("{REG}/simple/"));
    let page = format!("{{\"files\": [{{\"filename\": \"demo-1.0-py3-none-any.whl\", \"hashes\": {{\"sha256\": \"{sha}\"}}}}]}}");
    let mut first = true;
    let net = Net::new().serve(REG, move |_, _| {
        if std::mem::take(&mut first) {
            reply(429, &[("Retry-After", "9")], "slow down")
        } else {
            reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], &page)
        }
    });
    let run = run(o, vec![], &[w], net);
    assert_eq!(run.net.waits, vec![9000]);
    assert_eq!((run.reports[0].status, run.reports[0].verified), (Status::Skipped, Some(true)));
}

#[test]
fn an_unverifiable_conflict_is_never_a_plain_skip() {
    // pypiserver's 409 does not say which bytes it has; pypiserver is recognised from the reply
    // and its index (/simple/) is read to compare.
    let net = |index: &'static str| {
        Net::new().serve(REG, move |seen, _| {
            if seen.method == "GET" {
                assert_eq!(seen.url, format!("{REG}/simple/demo/"));
                return reply(200, &[("Content-Type", "text/html")], index);
            }
            reply(409, &[], "Package 'demo-1.0-py3-none-any.whl' already exists! You may start server with --overwrite option.")
        })
    };
    let mut o = opts();
    o.skip_existing = true;
    let w = wheel("demo", "1.0");
    let other =
        "<a href=\"/packages/demo-1.0-py3-none-any.whl#sha256=1111111111111111111111111111111111111111111111111111111111111111\">demo-1.0-py3-none-any.whl</a>";
    let r = run(o.clone(), vec![], std::slice::from_ref(&w), net(other)).reports.remove(0);
    assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Conflict)), "a different file is never skipped: {r:?}");
    let unknown = "<a href=\"/packages/demo-1.0-py3-none-any.whl\">demo-1.0-py3-none-any.whl</a>";
    let r = run(o.clone(), vec![], std::slice::from_ref(&w), net(unknown)).reports.remove(0);
    assert_eq!((r.status, r.verified), (Status::Skipped, Some(false)), "{r:?}");
    assert!(r.hint.as_deref().unwrap().contains("does not say whether it is this file"));
    let ours = format!("<a href=\"/packages/demo-1.0-py3-none-any.whl#sha256={}\">x</a>", digest_bytes(&w.bytes).sha256);
    let ours: &'static str = Box::leak(ours.into_boxed_str());
    let r = run(o, vec![], &[w], net(ours)).reports.remove(0);
    assert_eq!((r.status, r.verified), (Status::Skipped, Some(true)), "{r:?}");
}

#[test]
fn the_index_decides_before_anything_is_sent() {
    let w = wheel("demo", "1.0");
    let sha = digest_bytes(&w.bytes).sha256;
    let mut o = opts();
    o.check_url = Some(format!("{REG}/simple/"));
    let page = format!("{{\"files\": [{{\"filename\": \"demo-1.0-py3-none-any.whl\", \"hashes\": {{\"sha256\": \"{sha}\"}}}}]}}");
    let net = Net::new().serve(REG, move |seen, _| {
        assert_eq!(seen.url, format!("{REG}/simple/demo/"));
        reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], &page)
    });
    let run = run(o, vec![], &[w], net);
    assert_eq!((run.reports[0].status, run.reports[0].verified), (Status::Skipped, Some(true)));
    assert!(run.net.posts().is_empty());
    assert!(run.net.seen[0].header("authorization").is_some(), "the index of the upload URL's own origin gets the credentials");
}

#[test]
fn an_unreadable_index_is_never_taken_as_absent() {
    for (status, body) in [(500, "oops"), (200, "{not json")] {
        let mut o = opts();
        o.check_url = Some(format!("{REG}/simple/"));
        o.retries = Some(1.0);
        let net = Net::new().serve(REG, move |_, _| reply(status, &[("Content-Type", "application/json")], body));
        let run = run(o, vec![], &[wheel("demo", "1.0")], net);
        let r = &run.reports[0];
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::IndexCheck)), "{status}: {r:?}");
        assert!(run.net.posts().is_empty(), "{status}: nothing uploaded over an unknown");
    }
}

#[test]
fn the_check_url_of_another_origin_never_gets_the_credentials() {
    let mut o = opts();
    o.check_url = Some("http://evil.example\\@127.0.0.1:8080/simple/".into());
    let net = Net::new().serve("http://evil.example", |_, _| reply(404, &[], "")).serve(REG, ok_registry());
    let run = run(o, vec![], &[wheel("demo", "1.0")], net);
    let to_evil = run.net.to("http://evil.example");
    assert_eq!(to_evil.len(), 1, "WHATWG: the host is evil.example");
    assert!(to_evil[0].header("authorization").is_none());
    assert_eq!(run.reports[0].status, Status::Uploaded);
}

#[test]
fn a_sign_in_page_with_status_200_is_not_an_upload() {
    let page = "<html><head><title>Sign in</title></head><body><form action=/login><input name=user><input type=\"password\" name=pw></form></body></html>";
    let net = Net::new().serve(REG, move |_, _| reply(200, &[("Content-Type", "text/html")], page));
    let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
    let r = &run.reports[0];
    assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Auth)));
    assert!(r.hint.as_deref().unwrap().contains("sign-in page"));
}

#[test]
fn cancelling_during_a_back_off_reports_every_file_at_once() {
    let net = Net::new().serve(REG, |_, _| reply(503, &[("Retry-After", "3600")], "busy"));
    let dists = [wheel("demo", "1.0"), sdist("demo", "1.0")];
    let run = run_with(opts(), vec![], &dists, net, CancelAt::FirstWait, |_| {});
    assert_eq!(run.net.clock_ms, 0, "no wait was served");
    assert_eq!(run.net.posts().len(), 1);
    for r in &run.reports {
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Cancelled)), "{r:?}");
    }
    assert!(run.report("demo-1.0.tar.gz").error.as_deref().unwrap().contains("before it was sent"));
}

fn jwt(claims: &str) -> String {
    let b = |s: &str| pypublish::auth::base64(s.as_bytes()).trim_end_matches('=').replace('+', "-").replace('/', "_");
    format!("{}.{}.c2lnbmF0dXJl", b(r#"{"alg":"RS256"}"#), b(claims))
}

fn gitlab_env(token: &str) -> Vec<(String, String)> {
    vec![("PYPI_ID_TOKEN".into(), token.into())]
}

#[test]
fn trusted_publishing_mints_a_token_and_uploads_with_it() {
    let token = jwt(r#"{"sub":"project_path:acme/demo:ref_type:branch:ref:main","project_path":"acme/demo"}"#);
    let up = "https://upload.pypi.org";
    let net = Net::new().serve(up, |seen, st| {
        if seen.url.ends_with("/_/oidc/audience") {
            return reply(200, &[], r#"{"audience":"pypi"}"#);
        }
        if seen.url.ends_with("/_/oidc/mint-token") {
            return reply(200, &[], r#"{"success":true,"token":"pypi-minted-secret","expires":1}"#);
        }
        st.files.insert(filename_of(seen), seen.content());
        reply(200, &[], "OK")
    });
    let run = run(options("https://upload.pypi.org/legacy/"), gitlab_env(&token), &[wheel("demo", "1.0")], net);
    assert_eq!(run.reports[0].status, Status::Uploaded, "{:?}", run.reports[0]);
    let post = run.net.posts().into_iter().find(|s| s.url.ends_with("/legacy/")).unwrap();
    assert_eq!(post.header("authorization").unwrap(), format!("Basic {}", pypublish::auth::base64(b"__token__:pypi-minted-secret")));
    assert_eq!(run.reports[0].project_url.as_deref(), Some("https://pypi.org/project/demo/1.0/"));
}

#[test]
fn a_refused_mint_fails_every_file_with_the_claims_and_sends_nothing() {
    let token = jwt(
        r#"{"sub":"repo:acme/demo:ref:refs/heads/main","repository":"acme/demo","job_workflow_ref":"acme/demo/.github/workflows/release.yml@refs/heads/main"}"#,
    );
    let up = "https://upload.pypi.org";
    let net = Net::new().serve(up, |seen, _| {
        if seen.url.ends_with("/audience") {
            return reply(200, &[], r#"{"audience":"pypi"}"#);
        }
        reply(
            422,
            &[],
            r#"{"message":"Token request failed","errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher"}]}"#,
        )
    });
    let run = run(options("https://upload.pypi.org/legacy/"), gitlab_env(&token), &[wheel("demo", "1.0"), sdist("demo", "1.0")], net);
    assert!(run.net.posts().iter().all(|s| !s.url.ends_with("/legacy/")), "nothing uploaded");
    for r in &run.reports {
        assert_eq!(r.kind, Some(Kind::TrustedPublishing));
        let e = r.error.as_deref().unwrap();
        assert!(e.contains("invalid-publisher") && e.contains("job_workflow_ref=acme/demo/.github/workflows/release.yml"), "{e}");
        assert!(!e.contains(&token), "never the token");
    }
}

#[test]
fn trusted_publishing_is_refused_over_plain_http() {
    let mut o = options("http://upload.pypi.org/legacy/");
    o.trusted_publishing = Some("always".into());
    let run = run(o, gitlab_env(&jwt("{}")), &[wheel("demo", "1.0")], Net::new().serve("http://upload.pypi.org", |_, _| reply(200, &[], "")));
    assert!(run.net.seen.is_empty(), "the OIDC token must not travel unencrypted");
    assert_eq!(run.reports[0].kind, Some(Kind::TrustedPublishing));
    assert!(run.reports[0].error.as_deref().unwrap().contains("https://"));
}

#[test]
fn changeable_sources_are_all_verified_before_the_first_upload() {
    let good = sdist("demo", "1.0");
    let w = wheel("demo", "1.0");
    let run = run_with(opts(), vec![], &[good.clone(), w.clone()], Net::new().serve(REG, ok_registry()), CancelAt::Never, |specs| {
        for s in specs.iter_mut() {
            s.changeable = true;
        }
        specs[1].expected_sha256 = Some("0".repeat(64));
    });
    assert!(run.net.seen.is_empty(), "a release is all or nothing");
    assert_eq!(run.report(&w.name).kind, Some(Kind::Source));
    assert_eq!(run.report(&good.name).kind, Some(Kind::NotSent));
}

#[test]
fn a_large_batch_is_read_a_few_files_at_a_time() {
    // 2,000 small wheels read all at once held 17 MiB of read buffers in the CLI, and at the
    // edge each read is a connection to the asset host.
    let dists: Vec<Dist> = (0..20).map(|i| wheel(&format!("pkg{i:02}"), "1.0")).collect();
    let run = run(opts(), vec![], &dists, Net::new().serve(REG, ok_registry()));
    assert_eq!(run.most_reads, MAX_READING, "inspection reads in flight");
    assert!(run.reports.iter().all(|r| r.status == Status::Uploaded), "{:?}", run.reports);
    // All or nothing: every file is hashed before the first upload, as few at a time, and a
    // broken one among them still stops the batch before anything is sent.
    let urls = from_urls(&dists);
    let run = run_over(Trailing::All, opts(), vec![], &dists, Net::new().serve(REG, ok_registry()), CancelAt::Never, |specs| {
        urls(specs);
        specs[13].expected_sha256 = Some("0".repeat(64));
    });
    assert_eq!(run.most_hashes, MAX_READING, "hashing passes in flight");
    assert!(run.net.seen.is_empty(), "a release is all or nothing");
    assert_eq!(run.report(&dists[13].name).kind, Some(Kind::Source));
    assert_eq!(run.reports.iter().filter(|r| r.kind == Some(Kind::NotSent)).count(), 19, "{:?}", run.reports);
    let run = run_over(Trailing::All, opts(), vec![], &dists, Net::new().serve(REG, ok_registry()), CancelAt::Never, from_urls(&dists));
    assert_eq!(run.most_hashes, MAX_READING);
    assert!(run.reports.iter().all(|r| r.status == Status::Uploaded), "{:?}", run.reports);
}

/// The same bytes with one bit flipped inside the archive's data (still a readable archive).
fn flipped(bytes: &[u8]) -> Vec<u8> {
    let mut other = bytes.to_vec();
    let at = other.len() - 30;
    other[at] ^= 1;
    other
}

#[test]
fn a_source_that_changes_after_hashing_is_cut_and_not_retried() {
    let mut w = wheel("demo", "1.0");
    w.second_read = Some(flipped(&w.bytes));
    let run = run_with(opts(), vec![], std::slice::from_ref(&w), Net::new().serve(REG, ok_registry()), CancelAt::Never, |s| s[0].changeable = true);
    assert!(run.net.seen.is_empty() && run.net.store.files.is_empty());
    let r = &run.reports[0];
    assert_eq!((r.status, r.kind, r.attempts), (Status::Failed, Some(Kind::Source), 1));
}

#[test]
fn echoed_credentials_and_control_characters_never_leave_the_engine() {
    for password in ["p", "pw", "pw!", CANARY] {
        let mut o = opts();
        o.password = Some(password.into());
        o.verbose = true;
        let net = Net::new().serve(REG, |seen, _| {
            let auth = seen.header("authorization").unwrap().to_string();
            let body = format!("{{\"message\": \"denied for {auth} \\u001b[2J\\r\\nuploaded  fake.whl\"}}");
            reply(403, &[("Content-Type", "application/json"), ("X-Echo", &auth)], &body)
        });
        let run = run(o, vec![], &[wheel("demo", "1.0")], net);
        let r = &run.reports[0];
        let text = serde_json::to_string(r).unwrap();
        let b64 = pypublish::auth::base64(format!("alice:{password}").as_bytes());
        assert!(!text.contains(&b64), "{password}: the Basic value leaked: {text}");
        let msg = r.server_message.as_deref().unwrap();
        assert!(msg.contains("********"), "{msg}");
        assert!(!msg.contains('\u{1b}') && !msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
        assert!(msg.contains("\\u{1b}[2J"), "{msg}");
        let raw = r.response.as_ref().unwrap();
        assert!(raw.headers.iter().all(|(_, v)| !v.contains(&b64)));
        if password.len() > 3 {
            assert!(!text.contains(password));
        }
    }
}

#[test]
fn a_dry_run_sends_nothing_and_says_what_it_would_send() {
    let mut o = opts();
    o.dry_run = true;
    let run = run(o, vec![], &[wheel("demo", "1.0")], Net::new().serve(REG, ok_registry()));
    assert!(run.net.seen.is_empty());
    let r = &run.reports[0];
    assert_eq!(r.status, Status::Skipped);
    assert!(r.hint.as_deref().unwrap().starts_with("dry run:"));
}

#[test]
fn uploads_run_side_by_side_with_concurrency() {
    let mut o = opts();
    o.concurrency = Some(2.0);
    let dists = [wheel("a", "1.0"), wheel("b", "1.0"), wheel("c", "1.0")];
    let run = run(o, vec![], &dists, Net::new().serve(REG, ok_registry()));
    assert!(run.reports.iter().all(|r| r.status == Status::Uploaded));
    assert_eq!(run.net.store.files.len(), 3);
}

#[test]
fn odd_statuses_and_long_bodies_become_reports() {
    for status in [999u16, 600, 99] {
        let net = Net::new().serve(REG, move |_, _| reply(status, &[], "strange"));
        let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
        let r = &run.reports[0];
        assert_eq!((r.status, r.http_status), (Status::Failed, Some(status)));
    }
    let net = Net::new().serve(REG, |_, _| {
        let Answer::Reply(mut r) = reply(413, &[], &"x".repeat(1 << 20)) else { unreachable!() };
        r.truncated = true;
        Answer::Reply(r)
    });
    let run = run(opts(), vec![], &[wheel("demo", "1.0")], net);
    let r = &run.reports[0];
    assert_eq!((r.kind, r.http_status), (Some(Kind::TooLarge), Some(413)));
    assert!(r.server_message.as_deref().unwrap().len() <= 1100);
}

#[test]
fn hints_name_the_surface_s_own_controls() {
    let conflict = |surface: &str| {
        let mut o = opts();
        o.surface = Some(surface.into());
        let net =
            Net::new().serve(REG, |_, _| reply(409, &[], "Package 'demo-1.0-py3-none-any.whl' already exists! You may start server with --overwrite option."));
        run(o, vec![], &[wheel("demo", "1.0")], net).reports[0].hint.clone().unwrap()
    };
    assert!(conflict("cli").contains("--skip-existing"));
    let page = conflict("page");
    assert!(page.contains("Skip files the registry already has") && !page.contains("--"), "{page}");
    let hook = conflict("hook");
    assert!(hook.contains("PYPUBLISH_CHECK_URL") && !hook.contains("skip_existing"), "{hook}");
}

#[test]
fn a_streaming_transport_reads_each_file_once_with_the_digests_after_it() {
    let dists = [wheel("demo", "1.0"), sdist("demo", "1.0")];
    let run = run_over(Trailing::All, opts(), vec![], &dists, Net::new().serve(REG, ok_registry()), CancelAt::Never, |_| {});
    assert_eq!(run.hashed, 0, "no separate hashing pass");
    assert_eq!(run.trailing_sends, 2);
    for (d, post) in dists.iter().zip(run.net.posts()) {
        let want = digest_bytes(&d.bytes);
        assert_eq!(post.field("sha256_digest").unwrap(), want.sha256, "the digests of the bytes sent");
        assert_eq!(post.field("blake2_256_digest").unwrap(), want.blake2_256);
        assert_eq!(post.field("md5_digest").unwrap(), want.md5);
        let body = String::from_utf8_lossy(&post.body).into_owned();
        assert!(body.find("name=\"content\"").unwrap() < body.find("name=\"sha256_digest\"").unwrap(), "digests follow the file");
        let r = run.report(&d.name);
        assert_eq!((r.status, r.sha256.as_deref()), (Status::Uploaded, Some(want.sha256.as_str())));
        assert_eq!(run.net.store.files[&d.name], d.bytes);
    }
}

#[test]
fn digests_come_first_when_asked_or_when_the_registry_needs_them() {
    let mut o = opts();
    o.digests_first = true;
    let run = run_over(Trailing::All, o, vec![], &[wheel("demo", "1.0")], Net::new().serve(REG, ok_registry()), CancelAt::Never, |_| {});
    assert_eq!((run.hashed, run.trailing_sends), (1, 0));
    // Closed registries whose form parsing nobody could check get twine's order.
    let mut o = options("https://acme.jfrog.io/artifactory/api/pypi/local");
    o.token = Some("tok".into());
    let net = Net::new().serve("https://acme.jfrog.io", |_, _| reply(201, &[], ""));
    let run = run_over(Trailing::All, o, vec![], &[wheel("demo", "1.0")], net, CancelAt::Never, |s| s[0].changeable = true);
    assert_eq!((run.hashed, run.trailing_sends, run.whole_reads[0]), (1, 0, 2), "Artifactory: digests first, so a URL is read twice");
}

/// Every file of `dists` read anew each time (a URL), with the sha256 the caller expects.
fn from_urls(dists: &[Dist]) -> impl Fn(&mut Vec<pypublish::batch::FileSpec>) + '_ {
    move |specs| {
        for (s, d) in specs.iter_mut().zip(dists) {
            s.changeable = true;
            s.expected_sha256 = Some(digest_bytes(&d.bytes).sha256);
        }
    }
}

#[test]
fn a_single_stream_source_is_read_once_its_digests_after_it() {
    let w = [wheel("demo", "1.0")];
    let run = run_over(Trailing::All, opts(), vec![], &w, Net::new().serve(REG, ok_registry()), CancelAt::Never, from_urls(&w));
    let w = &w[0];
    assert_eq!((run.hashed, run.trailing_sends, run.whole_reads[0]), (0, 1, 1), "no hashing pass: one read");
    let want = digest_bytes(&w.bytes);
    let post = run.net.posts()[0];
    assert_eq!((post.field("sha256_digest").unwrap(), post.field("blake2_256_digest").unwrap()), (want.sha256.clone(), want.blake2_256));
    assert_eq!(run.net.store.files[&w.name], w.bytes);
    assert_eq!((run.reports[0].status, run.reports[0].sha256.as_deref()), (Status::Uploaded, Some(want.sha256.as_str())));
}

#[test]
fn a_single_stream_source_that_is_not_the_expected_file_is_cut_before_its_closing_boundary() {
    let w = wheel("demo", "1.0");
    let run = run_over(Trailing::All, opts(), vec![], std::slice::from_ref(&w), Net::new().serve(REG, ok_registry()), CancelAt::Never, |s| {
        s[0].changeable = true;
        s[0].expected_sha256 = Some("0".repeat(64));
    });
    assert!(run.net.store.files.is_empty() && run.net.seen.is_empty(), "the registry never got a whole request");
    let r = &run.reports[0];
    assert_eq!((r.status, r.kind, r.attempts), (Status::Failed, Some(Kind::Source), 1), "never retried: {r:?}");
    assert_eq!((run.hashed, run.whole_reads[0]), (0, 1));
}

#[test]
fn an_all_or_nothing_batch_reads_its_lead_once_and_the_others_twice() {
    let dists = [sdist("demo", "1.0"), wheel("demo", "1.0"), wheel("extra", "1.0")];
    let run = run_over(Trailing::All, opts(), vec![], &dists, Net::new().serve(REG, ok_registry()), CancelAt::Never, from_urls(&dists));
    assert!(run.reports.iter().all(|r| r.status == Status::Uploaded), "{:?}", run.reports);
    assert_eq!(filename_of(run.net.posts()[0]), dists[1].name, "the lead is the first upload");
    assert_eq!(run.whole_reads, [2, 1, 2], "2N-1 whole reads: the others hashed first, then sent");
    assert_eq!((run.hashed, run.trailing_sends), (2, 1));
    for d in &dists {
        assert_eq!(run.net.store.files[&d.name], d.bytes);
    }
}

#[test]
fn when_the_lead_of_a_batch_is_cut_nothing_else_is_uploaded() {
    let mut lead = wheel("demo", "1.0");
    lead.bytes = flipped(&lead.bytes); // the host serves other bytes than the sha256 the request gave
    let dists = [sdist("demo", "1.0"), lead, wheel("extra", "1.0")];
    let mut o = opts();
    o.concurrency = Some(3.0);
    let run = run_over(Trailing::All, o, vec![], &dists, Net::new().serve(REG, ok_registry()), CancelAt::Never, |specs| {
        for (s, d) in specs.iter_mut().zip(&dists) {
            s.changeable = true;
            s.expected_sha256 = Some(digest_bytes(&d.bytes).sha256);
        }
        specs[1].expected_sha256 = Some(digest_bytes(&wheel("demo", "1.0").bytes).sha256);
    });
    assert!(run.net.posts().is_empty() && run.net.store.files.is_empty(), "nothing of the release reached the registry");
    assert_eq!(run.report(&dists[1].name).kind, Some(Kind::Source));
    for d in [&dists[0], &dists[2]] {
        let r = run.report(&d.name);
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::NotSent)), "{r:?}");
        assert!(r.error.as_deref().unwrap().contains(&dists[1].name), "{r:?}");
    }
}

#[test]
fn a_lead_retried_after_a_lost_reply_holds_the_others_back_until_it_is_done() {
    // The lead's first body pass checks out, but its reply is lost; the retry reads the source
    // anew and gets other bytes. With the others already started, "nothing of this release was
    // uploaded" would have been false.
    let mut lead = wheel("demo", "1.0");
    lead.second_read = Some(flipped(&lead.bytes));
    let dists = [sdist("demo", "1.0"), lead, wheel("extra", "1.0")];
    let lead_name = dists[1].name.clone();
    let mut o = opts();
    o.concurrency = Some(3.0);
    let mut store = ok_registry();
    let mut lost = false;
    let net = Net::new().serve(REG, move |seen, st| {
        if !lost && seen.method == "POST" && filename_of(seen) == lead_name {
            lost = true;
            return Answer::NoReply(NoReply::Network("connection reset".into()));
        }
        store(seen, st)
    });
    let run = run_over(Trailing::All, o, vec![], &dists, net, CancelAt::Never, |specs| {
        for (s, d) in specs.iter_mut().zip(&dists) {
            s.changeable = true;
            s.expected_sha256 = Some(digest_bytes(&d.bytes).sha256);
        }
    });
    assert!(run.net.store.files.is_empty(), "nothing of the release reached the registry: {:?}", run.reports);
    let lead = run.report(&dists[1].name);
    assert_eq!((lead.kind, lead.attempts), (Some(Kind::Source), 2), "{lead:?}");
    for d in [&dists[0], &dists[2]] {
        let r = run.report(&d.name);
        assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::NotSent)), "{r:?}");
        assert!(r.error.as_deref().unwrap().contains("nothing of this release was uploaded"), "{r:?}");
    }
}

#[test]
fn the_index_is_asked_before_any_hashing_and_only_a_listed_file_is_hashed() {
    let w = wheel("demo", "1.0");
    let index = |sha: String| {
        let page = format!("{{\"files\": [{{\"filename\": \"demo-1.0-py3-none-any.whl\", \"hashes\": {{\"sha256\": \"{sha}\"}}}}]}}");
        Net::new().serve(REG, move |seen, _| {
            assert_eq!(seen.method, "GET", "nothing is uploaded over a listed file");
            reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], &page)
        })
    };
    let mut o = opts();
    o.check_url = Some(format!("{REG}/simple/"));
    let one = std::slice::from_ref(&w);
    // Absent (404): sent at once, hashed as it goes.
    let run = run_over(Trailing::All, o.clone(), vec![], one, Net::new().serve(REG, ok_registry()), CancelAt::Never, from_urls(one));
    assert_eq!((run.reports[0].status, run.hashed, run.trailing_sends, run.whole_reads[0]), (Status::Uploaded, 0, 1, 1));
    // Listed with our sha256: hashed (one read) to know, then skipped.
    let run = run_over(Trailing::All, o.clone(), vec![], one, index(digest_bytes(&w.bytes).sha256), CancelAt::Never, from_urls(one));
    let r = &run.reports[0];
    assert_eq!((r.status, r.verified, run.hashed, run.whole_reads[0]), (Status::Skipped, Some(true), 1, 1), "{r:?}");
    // Listed with another: a conflict, never a skip.
    let run = run_over(Trailing::All, o.clone(), vec![], one, index("1".repeat(64)), CancelAt::Never, from_urls(one));
    assert_eq!((run.reports[0].kind, run.hashed), (Some(Kind::Conflict), 1));
    // Listed without a sha256: nothing to compare, so not read at all; skipped, unverified.
    let bare = Net::new().serve(REG, |seen, _| {
        assert_eq!(seen.method, "GET", "nothing is uploaded over a listed file");
        reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], r#"{"files": [{"filename": "demo-1.0-py3-none-any.whl", "hashes": {}}]}"#)
    });
    let run = run_over(Trailing::All, o, vec![], one, bare, CancelAt::Never, from_urls(one));
    let r = &run.reports[0];
    assert_eq!((r.status, r.verified, run.hashed, run.whole_reads[0]), (Status::Skipped, Some(false), 0, 0), "{r:?}");
}

#[test]
fn in_a_batch_a_listed_lead_is_read_once_and_skipped_and_the_rest_go_on() {
    let dists = [sdist("demo", "1.0"), wheel("demo", "1.0")];
    let page = format!("{{\"files\": [{{\"filename\": \"{}\", \"hashes\": {{\"sha256\": \"{}\"}}}}]}}", dists[1].name, digest_bytes(&dists[1].bytes).sha256);
    let mut store = ok_registry();
    let net = Net::new().serve(REG, move |seen, st| match seen.method {
        "GET" => reply(200, &[("Content-Type", "application/vnd.pypi.simple.v1+json")], &page),
        _ => store(seen, st),
    });
    let mut o = opts();
    o.check_url = Some(format!("{REG}/simple/"));
    let run = run_over(Trailing::All, o, vec![], &dists, net, CancelAt::Never, from_urls(&dists));
    let (sd, wh) = (run.report(&dists[0].name), run.report(&dists[1].name));
    assert_eq!((wh.status, wh.verified, sd.status), (Status::Skipped, Some(true), Status::Uploaded), "{:?}", run.reports);
    assert_eq!(run.whole_reads, [2, 1], "the listed wheel read once, to compare; the sdist hashed first, then sent");
    assert_eq!(run.net.posts().len(), 1);
}

fn gitlab_job(project_id: &str, project_path: &str) -> Vec<(String, String)> {
    [("GITLAB_CI", "true"), ("CI_PROJECT_ID", project_id), ("CI_PROJECT_PATH", project_path), ("CI_SERVER_URL", "https://gitlab.example.com")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const GITLAB: &str = "https://gitlab.example.com";

fn gitlab_opts(project: &str) -> pypublish::batch::Options {
    let mut o = options(&format!("{GITLAB}/api/v4/projects/{project}/packages/pypi"));
    o.username = Some("gitlab-ci-token".into());
    o.password = Some("glcbt-job-token-secret".into());
    o.preflight = true;
    o
}

#[test]
fn a_gitlab_404_at_preflight_sends_nothing_and_names_both_projects() {
    // GitLab hides a project the job's token may not see: 404 {"message":"404 Not Found"}
    // (lib/api/helpers.rb not_found!; reference/registries.md).
    let net = || Net::new().serve(GITLAB, |_, _| reply(404, &[("Content-Type", "application/json")], r#"{"message":"404 Not Found"}"#));
    let other = run(gitlab_opts("acme%2Fwheels"), gitlab_job("42", "acme/app"), &[wheel("demo", "1.0"), sdist("demo", "1.0")], net());
    assert!(other.net.posts().is_empty(), "nothing POSTed");
    assert_eq!(other.net.seen.len(), 1, "one request: the project's simple index");
    assert_eq!(other.net.seen[0].url, format!("{GITLAB}/api/v4/projects/acme%2Fwheels/packages/pypi/simple/"));
    for r in &other.reports {
        assert_eq!((r.kind, r.http_status, r.server_message.as_deref()), (Some(Kind::Preflight), Some(404), Some("404 Not Found")));
        let hint = r.hint.as_deref().unwrap();
        assert!(hint.contains("in `acme/wheels`, add `acme/app` under Settings → CI/CD → Job token permissions"), "{hint}");
    }
    let own = run(gitlab_opts("42"), gitlab_job("42", "acme/app"), &[wheel("demo", "1.0")], net());
    let hint = own.reports[0].hint.clone().unwrap();
    assert!(hint.contains("its own project `acme/app`") && hint.contains("Package registry"), "{hint}");
}

#[test]
fn a_good_configuration_passes_preflight_with_one_extra_request() {
    let mut o = opts();
    o.preflight = true;
    let mut store = ok_registry();
    let net =
        Net::new().serve(
            REG,
            move |seen, st| if seen.method == "GET" { reply(200, &[("Content-Type", "text/html")], "<html>pypiserver</html>") } else { store(seen, st) },
        );
    let run = run(o, vec![], &[wheel("demo", "1.0")], net);
    assert_eq!(run.reports[0].status, Status::Uploaded);
    assert_eq!(run.net.seen.len(), 2);
    assert_eq!((run.net.seen[0].method, run.net.seen[0].url.as_str()), ("GET", "http://127.0.0.1:8080/"));
}

#[test]
fn preflight_for_pypi_reads_the_credentials_locally() {
    let mut o = options("https://upload.pypi.org/legacy/");
    o.username = Some("alice".into());
    o.password = Some("hunter22".into());
    o.preflight = true;
    o.trusted_publishing = Some("never".into());
    let pypi = run(o, vec![], &[wheel("demo", "1.0")], Net::new());
    assert!(pypi.net.seen.is_empty(), "no request: PyPI's rule is known");
    let r = &pypi.reports[0];
    assert_eq!(r.kind, Some(Kind::Preflight));
    assert!(r.hint.as_deref().unwrap().contains("__token__"));
}

#[test]
fn a_preflight_without_reply_lets_the_upload_decide_and_fails_only_a_check() {
    // No reply is no finding: a blip must not cost the release, and the upload's own retries
    // and diagnosis (the page's CORS explanation among them) take over, with a warning.
    let mut reg = ok_registry();
    let net = Net::new().serve(REG, move |seen, store| {
        if seen.method == "GET" {
            return Answer::NoReply(NoReply::Network("connection reset".into()));
        }
        reg(seen, store)
    });
    let mut o = opts();
    o.preflight = true;
    let up = run(o, vec![], &[wheel("demo", "1.0")], net);
    let r = &up.reports[0];
    assert_eq!(r.status, Status::Uploaded, "{r:?}");
    assert!(r.warnings.iter().any(|w| w.contains("got no reply (connection reset)")), "{:?}", r.warnings);
    assert_eq!(up.net.posts().len(), 1);

    // Unreachable: the upload is tried (with its retries) and fails as a network error.
    let mut o = opts();
    o.preflight = true;
    o.repository_url = Some("http://127.0.0.1:9/".into());
    let down = run(o.clone(), vec![], &[wheel("demo", "1.0")], Net::new());
    assert_eq!(down.reports[0].kind, Some(Kind::Network), "{:?}", down.reports[0]);
    assert!(down.net.seen.len() > 1, "the probe, then the upload's attempts");

    // A check that sends nothing else (`check --online`: a dry run) fails on it.
    o.dry_run = true;
    let check = run(o, vec![], &[wheel("demo", "1.0")], Net::new());
    assert_eq!(check.net.seen.len(), 1, "only the probe");
    let r = &check.reports[0];
    assert_eq!((r.status, r.kind), (Status::Failed, Some(Kind::Network)));
    assert!(r.error.as_deref().unwrap().contains("could not be reached"), "{r:?}");
}

#[test]
fn an_invalid_publisher_names_the_claims_pypi_matches_and_the_one_that_differs() {
    let reusable = jwt(
        r#"{"repository":"acme/demo","repository_owner":"acme","workflow_ref":"acme/demo/.github/workflows/release.yml@refs/tags/v1","job_workflow_ref":"acme/shared/.github/workflows/pypi.yml@refs/heads/main","ref":"refs/tags/v1"}"#,
    );
    let e = pypublish::oidc::parse_mint(
        422,
        r#"{"message":"Token request failed","errors":[{"code":"invalid-publisher","description":"valid token, but no corresponding publisher"}]}"#,
        &reusable,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("workflow_ref=acme/demo/.github/workflows/release.yml") && e.contains("job_workflow_ref=acme/shared/.github/workflows/pypi.yml"), "{e}");
    assert!(e.contains("reusable workflow `pypi.yml`, called from `release.yml`"), "{e}");
    let plain = jwt(
        r#"{"repository":"acme/demo","workflow_ref":"acme/demo/.github/workflows/release.yml@refs/tags/v1","job_workflow_ref":"acme/demo/.github/workflows/release.yml@refs/tags/v1","environment":"pypi"}"#,
    );
    let e = pypublish::oidc::parse_mint(422, r#"{"errors":[{"code":"invalid-publisher","description":"x"}]}"#, &plain).unwrap_err().to_string();
    assert!(e.contains("workflow `release.yml`") && e.contains("environment `pypi`") && e.contains("usually differs"), "{e}");
}

fn token_vector(name: &str) -> String {
    let vectors: Vec<serde_json::Value> = serde_json::from_str(include_str!("../fixtures/tokens/vectors.json")).unwrap();
    vectors.iter().find(|v| v["name"] == name).unwrap()["token"].as_str().unwrap().to_string()
}

#[test]
fn a_pypi_token_scoped_to_another_project_is_refused_before_the_upload() {
    // Scoped to project "other" (tests/fixtures/tokens/make_vectors.py); we upload "demo".
    let token = token_vector("project token, another project");
    let mut o = options("https://upload.pypi.org/legacy/");
    o.token = Some(token.clone());
    o.preflight = true;
    o.trusted_publishing = Some("never".into());
    let run = run(o.clone(), vec![], &[wheel("demo", "1.0")], Net::new());
    assert!(run.net.seen.is_empty(), "nothing sent, not even a probe: the token is read here");
    let r = &run.reports[0];
    assert_eq!(r.kind, Some(Kind::Preflight));
    let error = r.error.as_deref().unwrap();
    assert!(error.contains("scoped to `other`, not to `demo`"), "{error}");
    assert!(!format!("{r:?}").contains(&token[5..40]), "never the token");
    // An account-wide token passes and the upload goes ahead.
    o.token = Some(token_vector("account-wide user token"));
    let net = Net::new().serve("https://upload.pypi.org", |seen, st| {
        st.files.insert(filename_of(seen), seen.content());
        reply(200, &[], "OK")
    });
    assert_eq!(run_fn(o, net).reports[0].status, Status::Uploaded);
}

fn run_fn(o: pypublish::batch::Options, net: Net) -> Run {
    run(o, vec![], &[wheel("demo", "1.0")], net)
}

#[test]
fn metadata_pypi_would_refuse_stops_the_batch_with_the_line_and_nothing_is_sent() {
    let md = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nClassifier: Private :: Do Not Upload\nClassifier: Programming Language :: Python :: 3\n\nTitle\n===\n\nSee `the docs`_.\n";
    let bytes = crate::common::zip_with(&[("demo-1.0.dist-info/METADATA", md, true)]);
    let bad = Dist { name: "demo-1.0-py3-none-any.whl".into(), bytes, second_read: None, hash_cuts: 0 };
    let run = run(opts(), vec![], &[bad, sdist("demo", "1.0")], Net::new().serve(REG, ok_registry()));
    assert!(run.net.seen.is_empty());
    let r = run.report("demo-1.0-py3-none-any.whl");
    assert_eq!(r.kind, Some(Kind::Metadata));
    let e = r.error.as_deref().unwrap();
    assert!(e.contains("Private ::"), "{e}");
    assert!(e.contains("description (line 4)") && e.contains("the docs"), "the unknown target and its line in the description: {e}");
    assert_eq!(run.report("demo-1.0.tar.gz").kind, Some(Kind::NotSent));
}

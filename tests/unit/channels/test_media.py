"""Fetching customers' files: the platform's credentials never follow a redirect to another host."""

import urllib.request

import pytest

from switchboard.channels.media import MediaRefused, _AllowedRedirects, host_allowed


def redirect(to: str, *, allowed=("twilio.com", "twiliocdn.com")) -> urllib.request.Request:
    request = urllib.request.Request("https://api.twilio.com/2010-04-01/Media/ME1",
                                     headers={"Authorization": "Basic c2VjcmV0", "Accept": "*/*"})
    return _AllowedRedirects(allowed, "", "Twilio").redirect_request(request, None, 307, "Temporary", {}, to)


def test_credentials_stay_with_the_api_when_it_redirects_to_its_cdn():
    new = redirect("https://media.twiliocdn.com/ME1?Signature=x")
    assert "Authorization" not in new.headers and new.headers["Accept"] == "*/*"


def test_credentials_follow_a_redirect_on_the_same_host():
    new = redirect("https://api.twilio.com/2010-04-01/Media/ME1/Content")
    assert new.headers["Authorization"] == "Basic c2VjcmV0"


def test_a_redirect_off_the_platforms_hosts_is_refused():
    with pytest.raises(MediaRefused):
        redirect("https://attacker.example/steal")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://scontent.xx.fbcdn.net/photo.jpg", True),
    ("https://fbcdn.net.attacker.example/photo.jpg", False),
    ("http://scontent.xx.fbcdn.net/photo.jpg", False),
    ("https://user:pass@scontent.xx.fbcdn.net/photo.jpg", False),
])
def test_only_https_urls_on_the_platforms_hosts_are_fetched(url, allowed):
    assert host_allowed(url, ("fbcdn.net",)) is allowed

package dev.pier.runtime;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Image references by Docker's own grammar (distribution/reference and go-digest). */
class ImageReferenceTest {
    private static final String SHA = "sha256:" + "a".repeat(64);

    @Test
    void references_docker_accepts_are_accepted() {
        for (String ok : List.of(
                "debian",
                "debian:12",
                "library/debian:12-slim",
                "ghcr.io/owner/app:1.2",
                "localhost:5000/team/app",
                "registry.example.com:443/a/b/c:v1.0_rc-2",
                "[::1]:5000/app:x",
                "192.168.1.10:5000/app",
                "app@" + SHA,
                "app:tag@" + SHA,
                "my-app__x.y/z---w:Tag_1",
                "pier-test/sleeper:latest",
                "Registry.Example.com/app",
                "app@sha512:" + "0".repeat(128))) {
            assertThat(ImageReference.isValid(ok)).as(ok).isTrue();
        }
        ImageReference r = ImageReference.parse("ghcr.io:443/owner/app:1.2@" + SHA);
        assertThat(r.name()).isEqualTo("ghcr.io:443/owner/app");
        assertThat(r.tag()).isEqualTo(Optional.of("1.2"));
        assertThat(r.digest()).isEqualTo(Optional.of(SHA));
        assertThat(r.toString()).isEqualTo("ghcr.io:443/owner/app:1.2@" + SHA);
        assertThat(ImageReference.parse("localhost:5000/app").tag()).isEmpty();
    }

    @Test
    void references_docker_refuses_are_refused_with_a_reason() {
        record Case(String ref, String mentions) {}
        for (Case c : List.of(
                new Case("img@sha256:zz", "not a Docker image reference"),
                new Case("img@sha256:abc", "not a Docker image reference"),
                new Case("img@sha256:" + "a".repeat(40), "64 lower-case hex"),
                new Case("img@sha256:" + "A".repeat(64), "lower-case hex"),
                new Case("img@md5:" + "a".repeat(32), "not one Docker supports"),
                new Case("Debian:12", "lower case"),
                new Case("owner/MyApp", "lower case"),
                new Case("https://x/y", "not a Docker image reference"),
                new Case("debian 12", "not a Docker image reference"),
                new Case(" debian", "not a Docker image reference"),
                new Case("a//b", "not a Docker image reference"),
                new Case("a/", "not a Docker image reference"),
                new Case(":12", "not a Docker image reference"),
                new Case("debian:", "not a Docker image reference"),
                new Case("debian:-x", "not a Docker image reference"),
                new Case("debian:" + "t".repeat(129), "not a Docker image reference"),
                new Case("-debian", "not a Docker image reference"),
                new Case("deb--ian_", "not a Docker image reference"),
                new Case("a".repeat(64), "image id"),
                new Case("x/" + "a".repeat(260), "at most 255"),
                new Case("", "empty"))) {
            assertThatThrownBy(() -> ImageReference.parse(c.ref()))
                    .as(c.ref())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(c.mentions());
        }
        assertThatThrownBy(() -> ImageReference.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}

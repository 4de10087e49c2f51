package dev.pier.runtime;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Docker image reference, checked by the grammar Docker itself uses (the distribution project's
 * {@code reference} package, {@code regexp.go}, and go-digest for digests):
 * <pre>
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [domain "/"] path-component ["/" path-component]*
 * domain           := host [":" port-number]        host: domain-name | IPv4 | "[" IPv6 "]"
 * domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * path-component   := [a-z0-9]+ (separator [a-z0-9]+)*    separator: [_.] | __ | [-]+
 * tag              := [\w][\w.-]{0,127}
 * digest           := algorithm ":" hex                     sha256: 64, sha384: 96, sha512: 128 lower-case hex
 * </pre>
 * The name is at most 255 characters, and a 64-character hex string is not a name (Docker reads it as an
 * image id). No normalization is done: {@code debian} stays {@code debian}, as the engine accepts it.
 *
 * @param name   the repository, with its domain if one was given
 * @param tag    the tag, if given
 * @param digest {@code algorithm:hex}, if given
 */
public record ImageReference(String name, Optional<String> tag, Optional<String> digest) {
    private static final int NAME_MAX = 255;
    private static final String DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private static final String DOMAIN_NAME = DOMAIN_COMPONENT + "(?:\\." + DOMAIN_COMPONENT + ")*";
    private static final String IPV6 = "\\[(?:[a-fA-F0-9:]+)\\]";
    private static final String DOMAIN = "(?:" + DOMAIN_NAME + "|" + IPV6 + ")(?::[0-9]+)?";
    private static final String PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
    private static final String NAME = "(?:" + DOMAIN + "/)?" + PATH_COMPONENT + "(?:/" + PATH_COMPONENT + ")*";
    private static final String TAG = "[\\w][\\w.-]{0,127}";
    private static final String DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    private static final Pattern REFERENCE =
            Pattern.compile("^(" + NAME + ")(?::(" + TAG + "))?(?:@(" + DIGEST + "))?$");
    private static final Pattern ANCHORED_ID = Pattern.compile("^[a-f0-9]{64}$");
    private static final Map<String, Integer> DIGEST_HEX = Map.of("sha256", 64, "sha384", 96, "sha512", 128);

    /**
     * Parses and checks a reference.
     *
     * @throws IllegalArgumentException with a message that says what is wrong, in Pier's words
     */
    public static ImageReference parse(String s) {
        if (s == null || s.isEmpty()) {
            throw new IllegalArgumentException("an image reference must not be empty");
        }
        if (s.length() > NAME_MAX + 1 + 128 + 1 + 7 + 128) {
            throw new IllegalArgumentException(
                    "an image reference is at most " + NAME_MAX + " characters of name, " + "a tag and a digest");
        }
        Matcher m = REFERENCE.matcher(s);
        if (!m.matches()) {
            if (REFERENCE.matcher(s.toLowerCase(Locale.ROOT)).matches()) {
                throw new IllegalArgumentException("an image repository name must be lower case");
            }
            throw new IllegalArgumentException("not a Docker image reference: it is [registry[:port]/]repository"
                    + "[:tag][@sha256:digest], with a lower-case repository and no spaces or URL scheme, "
                    + "e.g. debian:12 or ghcr.io/owner/app:1.2");
        }
        String name = m.group(1);
        if (name.length() > NAME_MAX) {
            throw new IllegalArgumentException("an image repository name is at most " + NAME_MAX + " characters");
        }
        if (ANCHORED_ID.matcher(name).matches()) {
            throw new IllegalArgumentException("a 64-character hex string is an image id, not a repository name");
        }
        String digest = m.group(3);
        if (digest != null) {
            int colon = digest.indexOf(':');
            String algorithm = digest.substring(0, colon);
            String hex = digest.substring(colon + 1);
            Integer length = DIGEST_HEX.get(algorithm);
            if (length == null) {
                throw new IllegalArgumentException("digest algorithm '" + algorithm + "' is not one Docker supports "
                        + "(sha256, sha384, sha512)");
            }
            if (hex.length() != length || !hex.equals(hex.toLowerCase(Locale.ROOT))) {
                throw new IllegalArgumentException(
                        "a " + algorithm + " digest is " + length + " lower-case hex digits");
            }
        }
        return new ImageReference(name, Optional.ofNullable(m.group(2)), Optional.ofNullable(digest));
    }

    /** Whether {@code s} is a valid reference. */
    public static boolean isValid(String s) {
        try {
            parse(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return name
                + tag.map(t -> ":" + t).orElse("")
                + digest.map(d -> "@" + d).orElse("");
    }
}

package dev.pier.instances;

import dev.pier.errors.PierException;

import java.security.SecureRandom;
import java.text.Normalizer;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Predicate;

/**
 * Instance names. The name is a DNS label (it names the container and may become a host name); a display
 * name is what a person typed ("Minecraft 1.21") and gets a name derived from it.
 */
final class Names {
    static final int MAX_DISPLAY_NAME = 64;
    /** Room for "-" and eight hex digits of the id after the derived part, inside a 63-character label. */
    private static final int MAX_DERIVED_PREFIX = 63 - 9;

    private static final String[] ADJECTIVES = {
        "brisk", "calm", "deep", "fair", "keen", "mild", "quiet", "swift", "tidal", "warm"
    };
    private static final String[] NOUNS = {
        "anchor", "buoy", "cove", "dock", "harbor", "jetty", "keel", "mast", "quay", "wharf"
    };
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Latin letters that decomposition leaves alone, spelled as their languages write them without them. */
    private static final String[][] LETTERS = {
        {"ß", "ss"}, {"æ", "ae"}, {"œ", "oe"}, {"ø", "o"}, {"đ", "d"}, {"ð", "d"}, {"ł", "l"}, {"þ", "th"}, {"ı", "i"}
    };

    private Names() {}

    /** A friendly name ("calm-harbor-4821") that {@code taken} does not know. */
    static String generate(Predicate<String> taken) {
        for (int i = 0; i < 20; i++) {
            String n = ADJECTIVES[RANDOM.nextInt(ADJECTIVES.length)] + "-" + NOUNS[RANDOM.nextInt(NOUNS.length)] + "-"
                    + (1000 + RANDOM.nextInt(9000));
            if (!taken.test(n)) {
                return n;
            }
        }
        return "droplet-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * A display name as given, without surrounding spaces: 1-64 printable characters (letters, digits,
     * punctuation, symbols and spaces of any script; no control, format or unassigned characters).
     */
    static String displayName(String raw) {
        String s = raw == null ? "" : raw.strip();
        int count = s.codePointCount(0, s.length());
        if (count < 1 || count > MAX_DISPLAY_NAME || !s.codePoints().allMatch(Names::printable)) {
            throw new PierException.Invalid(
                    "name must be 1-" + MAX_DISPLAY_NAME + " printable characters, e.g. \"Minecraft 1.21\"");
        }
        return s;
    }

    private static boolean printable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL,
                    Character.FORMAT,
                    Character.SURROGATE,
                    Character.PRIVATE_USE,
                    Character.UNASSIGNED,
                    Character.LINE_SEPARATOR,
                    Character.PARAGRAPH_SEPARATOR -> false;
            default -> true;
        };
    }

    /**
     * The DNS label for a display name: its letters and digits in lower case (accents dropped), other runs
     * as one "-", then "-" and the first eight hex digits of the id, which make it unique in practice
     * ("Minecraft 1.21" → "minecraft-1-21-3f2a9c1b", "Straße" → "strasse-…"). A name with no usable
     * character becomes "instance-…".
     */
    static String derive(String displayName, UUID id) {
        String plain = Normalizer.normalize(displayName.toLowerCase(Locale.ROOT), Normalizer.Form.NFKD)
                .replaceAll("\\p{M}+", "");
        for (String[] letter : LETTERS) {
            plain = plain.replace(letter[0], letter[1]);
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < plain.length() && b.length() < MAX_DERIVED_PREFIX; i++) {
            char c = plain.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                b.append(c);
            } else if (!b.isEmpty() && b.charAt(b.length() - 1) != '-') {
                b.append('-');
            }
        }
        while (!b.isEmpty() && b.charAt(b.length() - 1) == '-') {
            b.setLength(b.length() - 1);
        }
        String prefix = b.isEmpty() ? "instance" : b.toString();
        return prefix + "-" + id.toString().substring(0, 8);
    }
}

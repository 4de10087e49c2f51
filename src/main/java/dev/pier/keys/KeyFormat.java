package dev.pier.keys;

import java.security.SecureRandom;
import java.util.zip.CRC32;

/**
 * The shape of an API key: {@code pier_} + 40 random base62 characters (238 bits) + a 6-character
 * base62 CRC-32 of the body. Secret scanners can recognise the prefix; a mistyped key fails the
 * checksum and is refused before any database lookup.
 */
public final class KeyFormat {
    public static final String PREFIX = "pier_";
    static final int BODY_LENGTH = 40;
    static final int CHECK_LENGTH = 6;
    public static final int LENGTH = PREFIX.length() + BODY_LENGTH + CHECK_LENGTH;
    private static final char[] ALPHABET =
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private KeyFormat() {}

    public static String generate() {
        StringBuilder body = new StringBuilder(BODY_LENGTH);
        for (int i = 0; i < BODY_LENGTH; i++) {
            body.append(ALPHABET[RANDOM.nextInt(ALPHABET.length)]);
        }
        return PREFIX + body + checksum(body);
    }

    /** Whether a credential claims to be an API key (by prefix), valid or not. */
    public static boolean looksLikeKey(String credential) {
        return credential != null && credential.startsWith(PREFIX);
    }

    /** Whether the key is well formed and its checksum matches. */
    public static boolean isValid(String key) {
        if (key == null || key.length() != LENGTH || !key.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < LENGTH; i++) {
            if (value(key.charAt(i)) < 0) {
                return false;
            }
        }
        CharSequence body = key.subSequence(PREFIX.length(), PREFIX.length() + BODY_LENGTH);
        return checksum(body).equals(key.substring(PREFIX.length() + BODY_LENGTH));
    }

    static String checksum(CharSequence body) {
        CRC32 crc = new CRC32();
        for (int i = 0; i < body.length(); i++) {
            crc.update(body.charAt(i));
        }
        long v = crc.getValue();
        char[] out = new char[CHECK_LENGTH];
        for (int i = CHECK_LENGTH - 1; i >= 0; i--) {
            out[i] = ALPHABET[(int) (v % 62)];
            v /= 62;
        }
        return new String(out);
    }

    private static int value(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'Z') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 36;
        }
        return -1;
    }
}

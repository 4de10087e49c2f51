package dev.pier.users;

import com.google.zxing.BarcodeFormat;
import com.google.zxing.EncodeHintType;
import com.google.zxing.WriterException;
import com.google.zxing.client.j2se.MatrixToImageWriter;
import com.google.zxing.common.BitMatrix;
import com.google.zxing.qrcode.QRCodeWriter;
import com.google.zxing.qrcode.decoder.ErrorCorrectionLevel;
import org.bouncycastle.util.encoders.Base32;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** What an authenticator app needs to enrol a user: the Base32 secret, its otpauth URI and QR code. */
public record Enrollment(User user, String secretBase32) {
    public static final String ISSUER = "Pier";

    public static Enrollment of(User user, byte[] secret) {
        String b32 = new String(Base32.encode(secret), StandardCharsets.US_ASCII).replace("=", "");
        return new Enrollment(user, b32);
    }

    /** {@code otpauth://totp/Pier:USER?secret=…&issuer=Pier} (Google Authenticator key URI format). */
    public String uri() {
        String label = enc(ISSUER) + ":" + enc(user.username());
        return "otpauth://totp/" + label + "?secret=" + secretBase32 + "&issuer=" + enc(ISSUER)
                + "&algorithm=SHA1&digits=6&period=30";
    }

    private BitMatrix matrix() {
        try {
            return new QRCodeWriter()
                    .encode(
                            uri(),
                            BarcodeFormat.QR_CODE,
                            0,
                            0,
                            Map.of(EncodeHintType.ERROR_CORRECTION, ErrorCorrectionLevel.M, EncodeHintType.MARGIN, 2));
        } catch (WriterException e) {
            throw new IllegalStateException("QR encoding failed", e);
        }
    }

    /** A PNG data URI, as the Matrix setup endpoint returns it. */
    public String qrDataUri() {
        BitMatrix m = matrix();
        // scale each module to 6 px so the image scans from a screen
        int scale = 6;
        BitMatrix big = new BitMatrix(m.getWidth() * scale, m.getHeight() * scale);
        for (int y = 0; y < m.getHeight(); y++) {
            for (int x = 0; x < m.getWidth(); x++) {
                if (m.get(x, y)) {
                    big.setRegion(x * scale, y * scale, scale, scale);
                }
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            MatrixToImageWriter.writeToStream(big, "PNG", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(out.toByteArray());
    }

    /** The QR code drawn with Unicode half blocks, two modules a character row, dark on light. */
    public String qrTerminal() {
        BitMatrix m = matrix();
        StringBuilder sb = new StringBuilder();
        for (int y = 0; y < m.getHeight(); y += 2) {
            for (int x = 0; x < m.getWidth(); x++) {
                boolean top = m.get(x, y);
                boolean bottom = y + 1 < m.getHeight() && m.get(x, y + 1);
                // light modules are drawn, dark ones left blank: reads correctly on dark terminals
                sb.append(top ? (bottom ? ' ' : '▄') : (bottom ? '▀' : '█'));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }
}

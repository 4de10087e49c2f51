package dev.pier.http;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Locale;
import java.util.Set;

/**
 * In front of every request, before Javalin sees it:
 * <ul>
 *   <li>the security headers of every answer, errors and unknown routes included: {@code nosniff}, no
 *       referrer, a CSP that allows nothing (the API serves no page), {@code Cache-Control: no-store}
 *       (tokens, keys and TOTP secrets must not stay in a browser or proxy cache; RFC 6749 §5.1), and
 *       HSTS when Pier serves TLS;</li>
 *   <li>no method override: Javalin's {@code Context.method()} takes {@code X-HTTP-Method-Override} as
 *       the method, so {@code POST} with {@code X-HTTP-Method-Override: DELETE} would reach a delete
 *       route (past a proxy or firewall that allows only GET and POST). The override headers are hidden
 *       from everything behind this filter; the method on the request line is the method.</li>
 * </ul>
 */
public final class SecurityFilter implements Filter {
    /** Headers some frameworks read as "the real method"; Pier reads none of them. */
    static final Set<String> METHOD_OVERRIDES = Set.of("x-http-method-override", "x-http-method", "x-method-override");

    private final boolean tls;

    public SecurityFilter(boolean tls) {
        this.tls = tls;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletResponse res = (HttpServletResponse) response;
        res.setHeader("X-Content-Type-Options", "nosniff");
        res.setHeader("Referrer-Policy", "no-referrer");
        res.setHeader("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
        res.setHeader("Cache-Control", "no-store");
        if (tls) {
            res.setHeader("Strict-Transport-Security", "max-age=63072000");
        }
        HttpServletRequest req = (HttpServletRequest) request;
        chain.doFilter(hasOverride(req) ? new WithoutOverride(req) : req, response);
    }

    private static boolean hasOverride(HttpServletRequest req) {
        for (String h : METHOD_OVERRIDES) {
            if (req.getHeader(h) != null) {
                return true;
            }
        }
        return false;
    }

    private static boolean isOverride(String name) {
        return name != null && METHOD_OVERRIDES.contains(name.toLowerCase(Locale.ROOT));
    }

    /** The request as it came, minus the method override headers. */
    private static final class WithoutOverride extends HttpServletRequestWrapper {
        WithoutOverride(HttpServletRequest request) {
            super(request);
        }

        @Override
        public String getHeader(String name) {
            return isOverride(name) ? null : super.getHeader(name);
        }

        @Override
        public Enumeration<String> getHeaders(String name) {
            return isOverride(name) ? Collections.emptyEnumeration() : super.getHeaders(name);
        }

        @Override
        public Enumeration<String> getHeaderNames() {
            return Collections.enumeration(Collections.list(super.getHeaderNames()).stream()
                    .filter(n -> !isOverride(n))
                    .toList());
        }

        @Override
        public long getDateHeader(String name) {
            return isOverride(name) ? -1 : super.getDateHeader(name);
        }

        @Override
        public int getIntHeader(String name) {
            return isOverride(name) ? -1 : super.getIntHeader(name);
        }
    }
}

// The cloud's TLS: which names each certificate is valid for, how long, and reading the PEM
// text the certificate scripts print. Pure: the components run the scripts (openssl, locally).
import { Model } from "./model";

/** Validity of a generated CA, and of the leaf certificates it issues (what browsers accept at most: 398 days). */
export const CA_DAYS = 3650;
export const LEAF_DAYS = 397;
/** A leaf certificate is issued again by the first `pulumi up` after this many days: it never gets near its end. */
export const RENEW_DAYS = 180;

/** The name of Varnish's PROXY listener (VCL `local.socket`): requests that came through hitch, over TLS. */
export const TLS_LISTENER = "tls";

/** What a leaf certificate is issued for. */
export interface CertRequest {
    commonName: string;
    dnsNames: string[];
    ipAddresses: string[];
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function request(names: (string | undefined)[]): CertRequest {
    const all = [...new Set(names.filter((n): n is string => !!n).map((n) => n.toLowerCase()))];
    const dnsNames = all.filter((n) => !IPV4.test(n));
    return { commonName: dnsNames[0] ?? all[0], dnsNames, ipAddresses: all.filter((n) => IPV4.test(n)) };
}

/**
 * The registry's certificate: every name it is reached by. Nodes pull from `<manager fqdn>:<port>`,
 * dnsmasq also answers `registry.<domain>`, and the deploying machine pushes to `pushAddress`
 * (ssh mode: the manager's address unless set; lab mode: 127.0.0.1, which Docker never verifies).
 */
export function registryCertRequest(model: Model): CertRequest {
    const push = model.registry.pushAddress.replace(/:\d+$/, "");
    return request([`registry.${model.domain}`, model.manager.fqdn, model.manager.address, push, model.mode === "lab" ? "127.0.0.1" : undefined]);
}

/**
 * The router's certificate: the manager's name and address, the address it is bound to, the
 * apps' virtual hosts, `router.tls.hostnames`, and in lab mode the loopback names the lab
 * publishes the router on.
 */
export function routerCertRequest(model: Model): CertRequest {
    const apps = [...new Set(model.applications.map((a) => a.route.hostname).filter((h): h is string => !!h))].sort();
    return request([
        model.manager.fqdn,
        ...model.router.tls.hostnames,
        ...apps,
        model.manager.address,
        model.router.bind,
        ...(model.mode === "lab" ? ["localhost", "127.0.0.1"] : []),
    ]);
}

/** subjectAltName entries as openssl writes them: DNS:<name>, IP:<address>. */
export function subjectAltNames(req: CertRequest): string[] {
    return [...req.dnsNames.map((n) => `DNS:${n}`), ...req.ipAddresses.map((a) => `IP:${a}`)];
}

/** The renewal period a moment falls in: part of a leaf's triggers, so it is issued anew every RENEW_DAYS. */
export function renewalPeriod(now: number = Date.now()): string {
    return `renew-${Math.floor(now / (RENEW_DAYS * 86_400_000))}`;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----\r?\n[\s\S]*?-----END \1-----/g;

/** The certificates (in order, the leaf first) and the private key in a PEM text. */
export function splitPem(text: string): { certificates: string; key: string } {
    const blocks = [...text.matchAll(PEM_BLOCK)];
    const certificates = blocks.filter((b) => b[1] === "CERTIFICATE").map((b) => `${b[0]}\n`).join("");
    const keys = blocks.filter((b) => /PRIVATE KEY$/.test(b[1]));
    return { certificates, key: keys.length ? `${keys[0][0]}\n` : "" };
}

/** PEM texts one after the other, each on its own lines (a file may lack its final newline). */
export function joinPem(...texts: string[]): string {
    return texts.map((t) => `${t.trim()}\n`).join("");
}

import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { contentHash } from "../core/hash";
import { renderScript } from "../core/scripts";
import { CA_DAYS, CertRequest, joinPem, LEAF_DAYS, renewalPeriod, splitPem, subjectAltNames } from "../core/tls";

export interface CertificatesArgs {
    cloudName: string;
    /** The operator's CA: its certificate, and its key (secret). Unset: the cloud generates one once. */
    ca?: { certificate: pulumi.Input<string>; key: pulumi.Input<string> };
    /** The leaf certificates to issue, by name: what each is for (in messages) and its names. */
    leaves: Record<string, { what: string; request: CertRequest }>;
}

/** A certificate and its private key, both PEM; the key is a secret. */
export interface IssuedCertificate {
    certificate: pulumi.Output<string>;
    key: pulumi.Output<string>;
}

/**
 * The cloud's certificate authority and the certificates it issues, made with openssl on the
 * deploying machine by local commands (no TLS provider plugin is needed). The CA is generated
 * once and kept in the stack's state, its key a secret output that is never logged; private keys
 * reach openssl only on stdin. A leaf is issued again when its names or the CA change, and every
 * RENEW_DAYS (a trigger), long before it expires.
 */
export class Certificates extends pulumi.ComponentResource {
    /** The CA certificate (public): what hosts and clients trust. */
    readonly caCertificate: pulumi.Output<string>;
    readonly issued: Record<string, IssuedCertificate> = {};

    constructor(name: string, args: CertificatesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("matrix:index:Certificates", name, {}, opts);
        let caKey: pulumi.Output<string>;
        if (args.ca) {
            this.caCertificate = pulumi.unsecret(pulumi.output(args.ca.certificate));
            caKey = pulumi.secret(args.ca.key);
        } else {
            const generated = new command.local.Command(
                `${name}-ca`,
                { create: renderScript("tls-ca", { commonName: `matrix CA (${args.cloudName})`, days: CA_DAYS }), logging: "none" },
                // Created once: a later change of the script must not make a new CA that no host trusts yet.
                { parent: this, additionalSecretOutputs: ["stdout", "stderr"], ignoreChanges: ["create"] },
            );
            // The certificate is public; only the key stays secret.
            this.caCertificate = pulumi.unsecret(generated.stdout.apply((pem) => splitPem(pem).certificates));
            caKey = pulumi.secret(generated.stdout.apply((pem) => splitPem(pem).key));
        }
        const caHash = this.caCertificate.apply(contentHash);
        for (const [leaf, { what, request }] of Object.entries(args.leaves)) {
            const sans = subjectAltNames(request).join(",");
            const issued = new command.local.Command(
                `${name}-${leaf}`,
                {
                    create: renderScript("tls-leaf", { what, commonName: request.commonName, sans, days: LEAF_DAYS }),
                    stdin: pulumi.secret(pulumi.all([this.caCertificate, caKey]).apply(([cert, key]) => joinPem(cert, key))),
                    logging: "none",
                    // New names, another CA, or a new renewal period: a new certificate (and key).
                    triggers: [sans, caHash, renewalPeriod()],
                },
                { parent: this, additionalSecretOutputs: ["stdout", "stderr"] },
            );
            this.issued[leaf] = {
                certificate: pulumi.unsecret(issued.stdout.apply((pem) => splitPem(pem).certificates)),
                key: pulumi.secret(issued.stdout.apply((pem) => splitPem(pem).key)),
            };
        }
        this.registerOutputs({ caCertificate: this.caCertificate, issued: this.issued });
    }
}

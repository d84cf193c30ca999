import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import { sourceKey } from '../identity/sign-in-lockout.js';
import { createRefusalLog, type RefusalLog, type WarnLog } from './refusal-log.js';

// Caps on open connections, checked once per connection at its `connection`
// event, before its TLS handshake: each open TLS connection holds about 30 KB,
// mostly OpenSSL's, so a client keeping thousands open would take the process
// to hundreds of MB. A connection over a limit is destroyed at once, before a
// byte of it is read. The counts are freed when the socket closes; nothing is
// done per request.
//
// At its limit a client's new connection is refused rather than one of its
// idle keep-alive connections closed: telling idle from busy would take work
// per request, a client holding connections on purpose keeps them busy, and
// closing an idle one races a request the client may be sending on it.

export type RefusalReason = 'total' | 'per_client';

export interface ConnectionLimitSettings {
  /** Open connections over all clients, TLS handshakes in progress included. */
  maxConnections: number;
  /** Open connections from one client: an IPv4 address (IPv4-mapped IPv6 counted as IPv4), an IPv6 /64; 0: no limit. */
  maxConnectionsPerClient: number;
}

/**
 * 4096 connections hold at most about 150 MB (4,300 took RSS up by 146 MB
 * when measured), beside the server's 110–150 MB. 512 from one address
 * leaves the bench (64) and local tools room, while one client alone holds
 * at most an eighth of the total.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimitSettings = { maxConnections: 4096, maxConnectionsPerClient: 512 };

/** What the metrics report. */
export interface ConnectionStats {
  readonly open: number;
  /** Addresses with a connection open (the per-address counts kept; 0 without a per-client limit). */
  readonly clients: number;
  readonly refused: Readonly<Record<RefusalReason, number>>;
}

export interface ConnectionLimits {
  readonly stats: ConnectionStats;
  /** Counts the server's connections from now on, and destroys those over a limit. */
  enforce(server: Server): void;
  /** Stops the refusal log's timer. */
  stop(): void;
}

export function createConnectionLimits(settings: ConnectionLimitSettings, log: WarnLog, refusalLog: RefusalLog = createRefusalLog(log)): ConnectionLimits {
  const { maxConnections, maxConnectionsPerClient } = settings;
  const perClient = maxConnectionsPerClient > 0;
  /** Open connections by client (sourceKey); a client leaves the map when its last one closes. */
  const byAddress = new Map<string, number>();
  const refused: Record<RefusalReason, number> = { total: 0, per_client: 0 };
  let open = 0;

  function refuse(socket: Socket, address: string, reason: RefusalReason): void {
    refused[reason]++;
    socket.destroy();
    refusalLog.refused(address, reason);
  }

  function admit(socket: Socket): void {
    // An IPv6 client by its /64: a host is commonly given a whole /64 and could open its limit from each address.
    const address = sourceKey(socket.remoteAddress ?? 'unknown');
    const fromAddress = perClient ? (byAddress.get(address) ?? 0) : 0;
    if (perClient && fromAddress >= maxConnectionsPerClient) return refuse(socket, address, 'per_client');
    if (open >= maxConnections) return refuse(socket, address, 'total');
    open++;
    if (perClient) byAddress.set(address, fromAddress + 1);
    // 'close' comes once per socket, however it ends (destroyed, timed out, closed by either side).
    socket.once('close', () => {
      open--;
      if (!perClient) return;
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left > 0) byAddress.set(address, left);
      else byAddress.delete(address);
    });
  }

  return {
    stats: {
      get open() {
        return open;
      },
      get clients() {
        return byAddress.size;
      },
      refused,
    },
    enforce(server) {
      server.on('connection', admit);
    },
    stop() {
      refusalLog.stop();
    },
  };
}

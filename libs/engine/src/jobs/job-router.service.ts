import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { type Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { JOB_CATALOG, type JobName } from '../queues/job-catalog';
import { ON_JOB } from './on-job.decorator';

type Handler = (payload: unknown, job: Job, token?: string) => Promise<unknown>;

/**
 * Finds the @OnJob handlers at boot and refuses to start when a job of the catalog has
 * none or two (immich does the same); then routes each job to its handler with a
 * parsed payload. A payload that does not parse is a bug: the job stops for good.
 */
@Injectable()
export class JobRouter implements OnModuleInit {
  private readonly handlers = new Map<JobName, Handler>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const found = new Map<string, string[]>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const name = this.reflector.get<JobName | undefined>(
          ON_JOB,
          fn as (...args: unknown[]) => unknown,
        );
        if (!name) continue;
        found.set(name, [...(found.get(name) ?? []), `${instance.constructor.name}.${method}`]);
        this.handlers.set(name, (fn as Handler).bind(instance));
      }
    }
    const problems: string[] = [];
    for (const job of JOB_CATALOG) {
      const where = found.get(job.name) ?? [];
      if (where.length === 0) problems.push(`job "${job.name}" has no @OnJob handler`);
      if (where.length > 1)
        problems.push(`job "${job.name}" has ${where.length} handlers: ${where.join(', ')}`);
    }
    for (const name of found.keys()) {
      if (!JOB_CATALOG.some((j) => j.name === name))
        problems.push(`@OnJob("${name}") is not in the job catalog`);
    }
    if (problems.length)
      throw new Error(`job handlers do not match the catalog:\n  ${problems.join('\n  ')}`);
  }

  async handle(job: Job, token?: string): Promise<unknown> {
    const definition = JOB_CATALOG.find((j) => j.name === job.name);
    const handler = this.handlers.get(job.name as JobName);
    if (!definition || !handler) throw new UnrecoverableError(`no handler for job "${job.name}"`);
    const parsed = definition.payload.safeParse(job.data);
    if (!parsed.success)
      throw new UnrecoverableError(
        `job ${job.id} (${job.name}) has an invalid payload: ${parsed.error.message}`,
      );
    return handler(parsed.data, job, token);
  }
}

import { SetMetadata } from '@nestjs/common';
import { type JobName } from '../queues/job-catalog';

export const ON_JOB = Symbol('ON_JOB');

/** Marks a service method as the handler of one job of the catalog (exactly one per job). */
export const OnJob = (job: { name: JobName }) => SetMetadata(ON_JOB, job.name);

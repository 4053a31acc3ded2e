import { applyDecorators } from '@nestjs/common';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  ApiResponse,
  DocumentBuilder,
  type OpenAPIObject,
  SwaggerModule,
  type StandardSchemaConversionResult,
} from '@nestjs/swagger';
import { z } from 'zod';
import { problemSchema } from './api.schemas';

export const OPENAPI_JSON_PATH = 'api/v1/openapi.json';
export const SWAGGER_UI_PATH = 'api/v1/docs';

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid query, parameters or body (`validation_failed`, with `errors`)',
  401: 'Missing, unknown or revoked token (with `WWW-Authenticate`)',
  403: 'The token’s role may not do this (viewers read, operators act)',
  404: 'No such item',
  409: 'Forbidden transition; `currentState` says where it stands now',
  503: 'PostgreSQL or Redis unreachable (with `Retry-After`)',
};

/** Error answers of an operation, all RFC 9457 problem+json. */
export const ApiProblems = (...statuses: number[]) =>
  applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Error',
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        },
      }),
    ),
  );

/** zod's regexes for uuid and date-time only repeat what `format` already says. */
const FORMATS_WITHOUT_PATTERN = new Set(['uuid', 'date-time', 'date']);

/**
 * zod → JSON Schema draft 2020-12, which is OpenAPI 3.1's schema dialect (Swagger's
 * default converter targets OpenAPI 3.0). Schemas with `.meta({ id })` become named
 * components; Swagger moves `$defs` there and rewrites the references.
 */
export function zodToOpenApi(
  schema: unknown,
  { schemaType }: { schemaType: 'input' | 'output' },
): StandardSchemaConversionResult | undefined {
  if (!(schema instanceof z.ZodType)) return undefined;
  const converted = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: schemaType,
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === 'string' && FORMATS_WITHOUT_PATTERN.has(jsonSchema.format))
        delete jsonSchema.pattern;
      // z.number().int() spells out the safe-integer range; it says nothing to a reader.
      if (
        jsonSchema.minimum === Number.MIN_SAFE_INTEGER &&
        jsonSchema.maximum === Number.MAX_SAFE_INTEGER
      ) {
        delete jsonSchema.minimum;
        delete jsonSchema.maximum;
      }
      // Answers may gain fields (the contract is extended, never renamed): clients must
      // not treat an unknown field as an error. Requests stay strict.
      if (schemaType === 'output' && jsonSchema.additionalProperties === false)
        delete jsonSchema.additionalProperties;
    },
  });
  const { $defs, $schema: _dialect, ...rest } = converted;
  return {
    schema: rest,
    components: ($defs ?? {}) as StandardSchemaConversionResult['components'],
  };
}

/** The OpenAPI 3.1 document of the operator API (the controllers of `apiModule`). */
export function buildOpenApiDocument(
  app: NestFastifyApplication,
  apiModule: NonNullable<Parameters<typeof SwaggerModule.createDocument>[2]>['include'],
): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('workgate operator API')
    .setDescription(
      [
        'See and steer every work item: lists with filters, one work in full, actions, inbound events, queues, leases, schedules, outbox.',
        '',
        'Authenticate with `Authorization: Bearer wg_…` (`workgate tokens create --name <you> --role viewer|operator`). Viewers may read; operators may also act. Every action is recorded in the work’s timeline as `token:<name>`.',
        '',
        'Errors are RFC 9457 `application/problem+json` with a stable `code`.',
      ].join('\n'),
    )
    .setVersion('1')
    .setOpenAPIVersion('3.1.0')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'opaque (wg_…)',
        description: 'An API token from `workgate tokens create`',
      },
      'token',
    )
    .build();
  const problem = zodToOpenApi(problemSchema, { schemaType: 'output' })!;
  config.components = {
    ...config.components,
    schemas: { ...(problem.components as Record<string, object>) },
  };
  return SwaggerModule.createDocument(app, config, {
    include: apiModule,
    standardSchemaConverter: zodToOpenApi,
    operationIdFactory: (controller, method) =>
      `${controller.replace(/Controller$/, '').replace(/^./, (c) => c.toLowerCase())}_${method}`,
  });
}

/**
 * Serves the document at /api/v1/openapi.json and Swagger UI at /api/v1/docs. Both are
 * plain Fastify routes outside Nest's router, so the API's auth guard does not apply:
 * the contract is public, the data behind it is not.
 */
export function setupOpenApi(app: NestFastifyApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(SWAGGER_UI_PATH, app, document, {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
    raw: ['json'],
    customSiteTitle: 'workgate operator API',
    swaggerOptions: { persistAuthorization: true },
  });
}

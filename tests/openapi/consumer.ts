// A typed client's view of dcr, from the generated types (dcr.d.ts): if the document
// names a schema or an operation differently, this stops compiling.
import type { components, operations, paths } from './dcr';

type Application = components['schemas']['Application'];
type Register = paths['/o/client/register']['post'];
type Activity = operations['getApplicationActivity']['responses'][200]['content']['application/json'];

export function describe(app: Application): string {
  return `${app.name} ${app.version} (${app.platforms.join(', ')})`;
}

export function registrationBody(statement: string): Register['requestBody'] extends infer B
  ? B extends { content: { 'application/json': infer J } } ? J : never
  : never {
  return { software_statement: statement } as never;
}

export function busiestDay(activity: Activity): number {
  return activity.days;
}

// The function app (functions/Workflows.Functions) on an Azure Functions Flex Consumption plan: a Storage account for
// the Durable Functions task hub, the deployment package and the app's data, Application Insights on a Log Analytics
// workspace, the plan and the app. The app reaches the account with its system-assigned managed identity (role
// assignments below, identity-based AzureWebJobsStorage settings); no account key is read or stored.
// See infra/README.md for how to deploy and publish, and for what the function app in this repository runs on today.

targetScope = 'resourceGroup'

@description('Azure region of every resource; the resource group\'s by default.')
param location string = resourceGroup().location

@description('Prefix of the resource names: letters, digits and hyphens. The Storage account takes it without hyphens, lower-cased, and adds a suffix unique to the resource group.')
@minLength(3)
@maxLength(20)
param namePrefix string = 'workflows'

@description('Most instances the app scales out to (Flex Consumption allows up to 1,000).')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance, in MB. The decoded-chunk cache takes a quarter of it unless WorkflowsChunkCacheMegabytes says otherwise.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Always-ready instances for the Durable Functions triggers (the "durable" group). 0 scales to zero: no instance is billed while the app is idle, and the first request after idling waits for a cold start.')
@minValue(0)
@maxValue(20)
param alwaysReadyInstances int = 0

@description('.NET version of the isolated worker (runtime dotnet-isolated). The app targets net10.0; Flex Consumption runs 8.0, 9.0 and 10.0.')
@allowed([
  '8.0'
  '9.0'
  '10.0'
])
param dotnetVersion string = '10.0'

@description('Durable Functions task hub name (host.json: WorkflowsHub). A new name starts an empty hub.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'WorkflowsHub'

@description('Data root of the app (WorkflowsDataRoot): a writable folder on each instance (the deployment package is mounted read-only). Local to the instance and lost when it is recycled.')
param dataRoot string = '/tmp/workflows-data'

@description('Schedule of the RetrainingTimer function (WorkflowsRetrainingSchedule): six-field NCRONTAB, UTC. Default 02:00 every day.')
param retrainingSchedule string = '0 0 2 * * *'

@description('Pipeline input file of the RetrainingTimer function (WorkflowsRetrainingInput), relative to the data root.')
param retrainingInput string = 'retraining/pipeline.json'

@description('Whether the RetrainingTimer function runs (AzureWebJobs.RetrainingTimer.Disabled is its negation). Off by default: put the pipeline input file in place first.')
param retrainingTimerEnabled bool = false

@description('Whether the Storage account accepts Shared Key (account key) requests. The function app never uses one; serving.bicep builds its registry connection from the account key, so set false only when the prediction service does not read this account.')
param allowSharedKeyAccess bool = true

@description('Days the Log Analytics workspace keeps logs and Application Insights telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id)
var storageAccountName = take('${toLower(replace(namePrefix, '-', ''))}${suffix}', 24)
var functionAppName = '${namePrefix}-func-${suffix}'

// Blob containers: the Flex Consumption deployment package, and the app's datasets and model registry (the Blob
// dataset storage and the Blob model registry; serving.bicep reads the registry container, default 'models').
var deploymentContainerName = 'app-package'
var datasetContainerName = 'datasets'
var modelContainerName = 'models'

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: storageAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = [
  for name in [deploymentContainerName, datasetContainerName, modelContainerName]: {
    parent: blobService
    name: name
    properties: {
      publicAccess: 'None'
    }
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: '${namePrefix}-func-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-func-insights'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
  }
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: '${namePrefix}-func-plan'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyInstances == 0
          ? []
          : [
              {
                name: 'durable'
                instanceCount: alwaysReadyInstances
              }
            ]
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Identity-based host storage: the Functions host and Durable Functions build the blob, queue and table
        // endpoints from the account name and authenticate with the app's system-assigned identity.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: insights.properties.ConnectionString
        }
        // host.json overrides: the task hub, and Durable Functions' Azure Storage provider (the Functions host has
        // no other Azure Storage task hub).
        {
          name: 'AzureFunctionsJobHost__extensions__durableTask__hubName'
          value: taskHubName
        }
        {
          name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
          value: 'AzureStorage'
        }
        {
          name: 'WorkflowsDataRoot'
          value: dataRoot
        }
        // The scheduled retraining (functions/Workflows.Functions/Retraining/RetrainingTimer.cs).
        {
          name: 'WorkflowsRetrainingSchedule'
          value: retrainingSchedule
        }
        {
          name: 'WorkflowsRetrainingInput'
          value: retrainingInput
        }
        {
          name: 'AzureWebJobs.RetrainingTimer.Disabled'
          value: retrainingTimerEnabled ? 'false' : 'true'
        }
      ]
    }
  }
  dependsOn: [
    containers
  ]
}

// Built-in roles that the Functions host and Durable Functions need over identity-based AzureWebJobsStorage, each
// given to the app's identity on the Storage account: blobs (host keys and leases, large payloads, the deployment
// package, datasets, models), queues (control and work-item queues) and tables (history and instances).
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, 'Storage Blob Data Owner')
  scope: storage
  properties: {
    // Storage Blob Data Owner
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, 'Storage Queue Data Contributor')
  scope: storage
  properties: {
    // Storage Queue Data Contributor
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, 'Storage Table Data Contributor')
  scope: storage
  properties: {
    // Storage Table Data Contributor
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Name of the function app (func azure functionapp publish <name>).')
output functionAppName string = app.name

@description('Default host name of the function app, e.g. <name>.azurewebsites.net.')
output defaultHostName string = app.properties.defaultHostName

@description('Name of the Storage account (task hub, deployment package, datasets and models); serving.bicep\'s storageAccountName.')
output storageAccountName string = storage.name

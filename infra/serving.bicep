// The prediction service (src/Workflows.Serving) on Azure Container Apps: a Log Analytics workspace, a Container Apps
// environment and the container app, serving the Blob model registry of an existing Storage account.
// See infra/README.md for how to build the image and deploy.

targetScope = 'resourceGroup'

@description('Azure region of every resource; the resource group\'s by default.')
param location string = resourceGroup().location

@description('Prefix of the resource names.')
@minLength(3)
@maxLength(20)
param namePrefix string = 'workflows'

@description('Container image of Workflows.Serving, e.g. myregistry.azurecr.io/workflows-serving:1.0.0.')
param image string

@description('Login server of a private container registry holding the image; empty for a public image.')
param registryServer string = ''

@description('User name for registryServer (an admin user or a token).')
param registryUsername string = ''

@description('Password for registryServer.')
@secure()
param registryPassword string = ''

@description('Name of the existing Storage account (in this resource group) that holds the model registry, the one the function app registers models in.')
param storageAccountName string

@description('Blob container of the model registry in that account.')
param registryContainer string = 'models'

@description('Key of the /admin API (header x-admin-key), at least 16 characters. Kept as a Container Apps secret.')
@secure()
@minLength(16)
param adminKey string

@description('Seconds between registry scans for new model versions.')
@minValue(0)
param registryPollSeconds int = 10

@description('Fewest replicas; 1 or more keeps a replica warm, so no request waits for models to load.')
@minValue(0)
@maxValue(300)
param minReplicas int = 1

@description('Most replicas.')
@minValue(1)
@maxValue(300)
param maxReplicas int = 4

@description('Concurrent HTTP requests per replica above which another replica is started.')
@minValue(1)
param concurrentRequestsPerReplica int = 200

@description('vCPUs per replica (0.25 to 4, in steps the chosen memory allows).')
param cpu string = '2.0'

@description('Memory per replica, paired with cpu (2 vCPUs: 4Gi).')
param memory string = '4Gi'

@description('Days the environment\'s logs are kept.')
@minValue(30)
param logRetentionDays int = 30

// The port the service listens on inside the container (it listens on 127.0.0.1:7072 unless told otherwise).
var port = 8080

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-serving-logs'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-serving-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

var registrySecrets = empty(registryServer)
  ? []
  : [
      {
        name: 'registry-password'
        value: registryPassword
      }
    ]

var registries = empty(registryServer)
  ? []
  : [
      {
        server: registryServer
        username: registryUsername
        passwordSecretRef: 'registry-password'
      }
    ]

resource serving 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-serving'
  location: location
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: port
        transport: 'http'
        allowInsecure: false
      }
      secrets: concat(
        [
          {
            name: 'admin-key'
            value: adminKey
          }
          {
            name: 'registry-connection'
            value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${az.environment().suffixes.storage}'
          }
        ],
        registrySecrets
      )
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'serving'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: [
            {
              name: 'ASPNETCORE_URLS'
              value: 'http://0.0.0.0:${port}'
            }
            {
              name: 'Serving__BlobConnectionString'
              secretRef: 'registry-connection'
            }
            {
              name: 'Serving__BlobContainer'
              value: registryContainer
            }
            {
              name: 'Serving__AdminKey'
              secretRef: 'admin-key'
            }
            {
              name: 'Serving__RegistryPollSeconds'
              value: string(registryPollSeconds)
            }
          ]
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/v2/health/live'
                port: port
              }
              periodSeconds: 2
              failureThreshold: 30
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/v2/health/live'
                port: port
              }
              periodSeconds: 10
              failureThreshold: 3
            }
            {
              // 503 until a registry scan has completed and every model has a loaded version: no traffic before then.
              type: 'Readiness'
              httpGet: {
                path: '/v2/health/ready'
                port: port
              }
              periodSeconds: 5
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http-concurrency'
            http: {
              metadata: {
                concurrentRequests: string(concurrentRequestsPerReplica)
              }
            }
          }
        ]
      }
    }
  }
}

@description('The service\'s address, e.g. https://<app>.<env>.<region>.azurecontainerapps.io (POST {url}/v2/models/{name}/infer).')
output url string = 'https://${serving.properties.configuration.ingress.fqdn}'

@description('Name of the container app.')
output containerAppName string = serving.name
